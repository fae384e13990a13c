/* SPDX-License-Identifier: Apache-2.0 */
/* Private header of the mod_cmp httpd glue: every glue file includes it, so
 * that "LogLevel cmp:debug" reaches all of them. */
#ifndef MOD_CMP_PRIVATE_H
#define MOD_CMP_PRIVATE_H

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "cmp_log.h"

/* mod_cmp.c declares the module (AP_DECLARE_MODULE does this there). */
#ifndef CMP_DECLARES_MODULE
APLOG_USE_MODULE(cmp);
#endif

#endif
