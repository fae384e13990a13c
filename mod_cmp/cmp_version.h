/* SPDX-License-Identifier: Apache-2.0 */
/* The version of mod_cmp. The core library (libcmpcore.so) is one per httpd
 * process, shared by mod_cmp and mod_cmp_admin; a module built for another
 * version refuses to serve with it (cmp_core_version()). */
#ifndef CMP_VERSION_H
#define CMP_VERSION_H

#define CMP_VERSION "0.21.0"

/* The version the core library was built as. */
const char *cmp_core_version(void);

/* The version a module is built as: CMP_VERSION, unless a build says
 * otherwise (the test of the version handshake does). */
#ifndef CMP_MODULE_VERSION
#define CMP_MODULE_VERSION CMP_VERSION
#endif

#endif
