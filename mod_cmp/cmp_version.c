#include "cmp_version.h"

const char *cmp_core_version(void)
{
    return CMP_VERSION;
}
