# SPDX-License-Identifier: Apache-2.0
# The core library against the real database, without httpd (Check suite
# 'store' of build/unit_tests): statements, cache invalidation, and OpenSSL's
# client enrolling through cmp_server_handle() on two in-process "nodes".

t_core_store_suite() {
  CMP_TEST_DATABASE_URL=$DATABASE_URL CMP_TEST_VAR_DIR=$VAR_DIR CK_FORK=yes "$BUILD/unit_tests" store
}
run_test "core library against PostgreSQL (unit suite 'store')" t_core_store_suite
