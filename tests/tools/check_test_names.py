#!/usr/bin/env python3
"""Fails when a Catch2 test name in tests/ contains ';'.

catch_discover_tests registers each test case with ctest by name and splits a name on
';' (a CMake list separator): the pieces become tests that match no test case, run
nothing, and pass. Usage: check_test_names.py TESTS_DIR
"""
import pathlib
import re
import sys

# TEST_CASE( "a" "b" ..., or TEST_CASE_METHOD(Fixture, "a" ...: the name is the run
# of adjacent string literals before the first comma or closing parenthesis.
PATTERN = re.compile(r'\b(?:TEST_CASE|SCENARIO)\s*\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+)'
                     r'|\bTEST_CASE_METHOD\s*\(\s*[\w:]+\s*,\s*((?:"(?:[^"\\]|\\.)*"\s*)+)')
LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')


def main() -> int:
    root = pathlib.Path(sys.argv[1])
    bad = []
    count = 0
    for path in sorted(root.rglob('*')):
        if path.suffix not in ('.cpp', '.h') or not path.is_file():
            continue
        text = path.read_text(encoding='utf-8', errors='replace')
        for m in PATTERN.finditer(text):
            count += 1
            name = ''.join(LITERAL.findall(m.group(1) or m.group(2)))
            if ';' in name:
                line = text.count('\n', 0, m.start()) + 1
                bad.append(f'{path}:{line}: test name contains ";": {name}')
    for b in bad:
        print(b, file=sys.stderr)
    if count == 0:
        print(f'no test case found under {root}', file=sys.stderr)
        return 1
    print(f'{count} test names checked, {len(bad)} with ";"')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
