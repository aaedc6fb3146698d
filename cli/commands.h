// The command groups of `keyturn`. Each returns the exit status: 0 success, 1 a refusal
// (a check failed), 2 a usage or I/O error.
#pragma once

namespace keyturn::cli {

int keyCommand(int argc, char** argv);      // keyturn key new|show
int bundleCommand(int argc, char** argv);   // keyturn bundle new|sign|show
int requestCommand(int argc, char** argv);  // keyturn request new|sign|show
int issueCommand(int argc, char** argv);    // keyturn issue
int policyCommand(int argc, char** argv);   // keyturn policy test|simulate|lint|diff

}  // namespace keyturn::cli
