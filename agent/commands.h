// The offline commands of keyturn-agent (PROTOCOL.md section 8). Each prints exactly
// one JSON line on stdout and returns the exit status: 0 accept, 1 reject, 2 usage or
// I/O error.
#pragma once

namespace keyturn::agent {

int trustCommand(int argc, char** argv);   // argv[1] == "trust"
int verifyCommand(int argc, char** argv);  // argv[1] == "verify"

}  // namespace keyturn::agent
