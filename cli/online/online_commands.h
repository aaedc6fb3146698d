// The online commands of `keyturn`: they talk to the coordinator over HTTPS with a
// session from `keyturn login`. Exit status as the offline kit (0 done, 1 refused by a
// local check or by the server's 4xx decision, 2 usage or I/O) plus 3: the server could
// not be reached, its certificate is not trusted, or it failed (5xx).
#pragma once

namespace keyturn::cli {

int loginCommand(int argc, char** argv);       // keyturn login
int requestSubmit(int argc, char** argv);      // keyturn request submit
int requestList(int argc, char** argv);        // keyturn request list
int requestShowOnline(int argc, char** argv);  // keyturn request show ID
int requestDecide(int argc, char** argv);      // keyturn request approve|reject|complete|cancel ID
int bundlePropose(int argc, char** argv);      // keyturn bundle propose
int deviceCommand(int argc, char** argv);      // keyturn device list|enroll-code|remove
int auditCommand(int argc, char** argv);       // keyturn audit list|verify|export
int notifyCommand(int argc, char** argv);      // keyturn notify status
int artifactCommand(int argc, char** argv);    // keyturn artifact upload|list

}  // namespace keyturn::cli
