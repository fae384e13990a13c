/* mod_cmp_admin: httpd glue for the JSON "Core CMP API" under /api/v1.
 * This first version registers the handler and answers every request with a
 * JSON problem (501) until the resources are implemented. */
#include <string.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_protocol.h>

#define ADMIN_HANDLER "cmp-admin"

module AP_MODULE_DECLARE_DATA cmp_admin_module;

static int admin_handler(request_rec *r)
{
    static const char body[] =
        "{\"type\":\"about:blank\",\"title\":\"Not Implemented\","
        "\"status\":501,\"detail\":\"the Core CMP API is not available in "
        "this build\"}\n";

    if (r->handler == NULL || strcmp(r->handler, ADMIN_HANDLER) != 0)
        return DECLINED;
    r->status = HTTP_NOT_IMPLEMENTED;
    ap_set_content_type(r, "application/problem+json");
    ap_set_content_length(r, sizeof(body) - 1);
    if (!r->header_only)
        ap_rwrite(body, sizeof(body) - 1, r);
    return OK;
}

static void admin_register_hooks(apr_pool_t *p)
{
    ap_hook_handler(admin_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(cmp_admin) = {
    STANDARD20_MODULE_STUFF,
    NULL, NULL, NULL, NULL, NULL,
    admin_register_hooks,
    AP_MODULE_FLAG_NONE
};
