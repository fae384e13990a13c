/* SPDX-License-Identifier: Apache-2.0 */
#include "cmp_version.h"

const char *cmp_core_version(void)
{
    return CMP_VERSION;
}
