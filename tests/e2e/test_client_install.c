/*
 * test_client_install.c - the client as a user gets it: `make install
 * PREFIX=<tmp>`, then client/examples builds with nothing but
 * `pkg-config glorot-client` and runs against a real glorotd, the Python
 * package imports from the prefix and finds the installed library; and the
 * shared library exports the glorot_ API and nothing else.
 */
#include "../support/harness.h"
#include "glorot/client.h"

#include <criterion/criterion.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UNDER_ASAN TH_UNDER_ASAN

static const char *const public_api[] = {
    "glorot_client_free",
    "glorot_client_new",
    "glorot_fetch",
    "glorot_fetch_stream",
    "glorot_free",
    "glorot_generate",
    "glorot_generate_stream",
    "glorot_health",
    "glorot_info",
    "glorot_request_init",
    "glorot_request_set",
    "glorot_size",
    "glorot_strerror",
    "glorot_version",
    "glorot_digest",
    "glorot_digest_check",
    "glorot_batch_request_init",
    "glorot_batch_fetch",
    "glorot_batch_stream",
    "glorot_batch_manifest",
    "glorot_describe",
    "glorot_batch_plan",
    "glorot_batch_generate",
    "glorot_batch_generate_stream",
};

/* The repository root: the parent of GLOROT_TESTS. */
static void repo_root(char *out, size_t size)
{
    char tests[512];
    snprintf(tests, sizeof tests, "%s", th_env("GLOROT_TESTS"));
    snprintf(out, size, "%s", dirname(tests));
}

/* The build folder the tests run from: where GLOROT_BIN lives. */
static void build_dir(char *out, size_t size)
{
    char bin[512];
    snprintf(bin, sizeof bin, "%s", th_env("GLOROT_BIN"));
    snprintf(out, size, "%s", dirname(bin));
}

/* Check `nm -D --defined-only lib`: only glorot_ names, and all of the API. */
static void check_exports(const char *lib, const char *scratch)
{
    char listing[512];
    snprintf(listing, sizeof listing, "%s/nm.txt", scratch);
    const char *argv[] = {"nm", "-D", "--defined-only", lib, NULL};
    cr_assert_eq(th_run(argv, listing, 60), 0, "nm failed on %s", lib);
    unsigned char *text = th_read_file(listing, NULL);
    cr_assert_not_null(text);
    size_t found = 0, symbols = 0;
    for (char *line = (char *)text, *next; *line != '\0'; line = next) {
        next = line + strcspn(line, "\n");
        if (*next == '\n')
            *next++ = '\0';
        const char *name = strrchr(line, ' ');
        name = name != NULL ? name + 1 : line;
        symbols++;
        cr_expect(strncmp(name, "glorot_", 7) == 0, "%s exports '%s'", lib, name);
        for (size_t i = 0; i < sizeof public_api / sizeof public_api[0]; i++)
            found += strcmp(name, public_api[i]) == 0;
    }
    cr_expect_eq(found, sizeof public_api / sizeof public_api[0], "%s misses part of the API", lib);
    cr_expect_eq(symbols, found, "%s exports more than the API", lib);
    free(text);
    unlink(listing);
}

Test(install, shared_library_exports_only_the_api)
{
    char build[512], lib[600], scratch[] = "/tmp/glorot-nm-XXXXXX";
    build_dir(build, sizeof build);
    snprintf(lib, sizeof lib, "%s/libglorot-client.so", build);
    cr_assert_not_null(mkdtemp(scratch));
    check_exports(lib, scratch);
    rmdir(scratch);
}

static void run_ok(const char *const argv[], const char *what)
{
    int rc = th_run(argv, NULL, 600);
    cr_assert_eq(rc, 0, "%s failed with %d", what, rc);
}

/* Sub-makes must not inherit the outer make's job server or variables. */
static void plain_make_environment(void)
{
    unsetenv("MAKEFLAGS");
    unsetenv("MFLAGS");
    unsetenv("MAKELEVEL");
    unsetenv("MAKEOVERRIDES");
}

/* `import glorot` from where make install put it (lib/python3.X/dist-packages under
 * the prefix), without GLOROT_LIBRARY: it must find the installed library next
 * to it, fetch from the daemon and agree with local generation. Under ASan the
 * interpreter needs the sanitizer runtimes preloaded to load the library. */
static int run_installed_python(const char *prefix, const char *url)
{
    char script[2048], output[700];
    snprintf(script, sizeof script,
             "cd / && %s PYTHONPATH=\"$(echo %s/lib/python3*/dist-packages)\" "
             "/usr/bin/python3 -c '"
             "import glorot\n"
             "p = glorot.library_path()\n"
             "assert p.startswith(\"%s/lib/\"), p\n"
             "with glorot.Client(\"%s\") as c:\n"
             "    a = c.fetch(shape=(256, 512), seed=42)\n"
             "assert (a == glorot.generate(shape=(256, 512), seed=42)).all()\n"
             "print(\"python ok\", p)'",
             UNDER_ASAN ? "LD_PRELOAD=\"$(cc -print-file-name=libasan.so) "
                          "$(cc -print-file-name=libubsan.so)\" ASAN_OPTIONS=detect_leaks=0"
                        : "",
             prefix, prefix, url);
    snprintf(output, sizeof output, "%s/python.txt", prefix);
    const char *argv[] = {"env", "-u", "GLOROT_LIBRARY", "sh", "-c", script, NULL};
    int rc = th_run(argv, output, 120);
    unsigned char *text = th_read_file(output, NULL);
    if (rc == 0 && (text == NULL || strstr((char *)text, "python ok") == NULL))
        rc = -1;
    free(text);
    return rc;
}

Test(install, example_builds_with_pkg_config_and_runs, .timeout = 900)
{
    char repo[512], prefix[] = "/tmp/glorot-install-XXXXXX";
    char arg_prefix[600], example[600], src[700], pcpath[600], libdir[600], binary[700];
    char output[700], cc[128], pcflags[700];
    repo_root(repo, sizeof repo);
    cr_assert_not_null(mkdtemp(prefix));
    plain_make_environment();

    snprintf(arg_prefix, sizeof arg_prefix, "PREFIX=%s", prefix);
    char build_dir_arg[600], tested[512];
    build_dir(tested, sizeof tested); /* install the build under test (make check B=...) */
    snprintf(build_dir_arg, sizeof build_dir_arg, "B=%s", tested);
    const char *install[] = {"make",    "-s",       "-C",          repo,
                             "install", arg_prefix, build_dir_arg, UNDER_ASAN ? "SAN=asan" : NULL,
                             NULL};
    run_ok(install, "make install");

    /* a copy of the example, built outside the source tree */
    snprintf(example, sizeof example, "%s/example", prefix);
    snprintf(src, sizeof src, "%s/client/examples/.", repo);
    const char *copy[] = {"cp", "-R", src, example, NULL};
    run_ok(copy, "cp");
    snprintf(pcpath, sizeof pcpath, "%s/lib/pkgconfig", prefix);
    setenv("PKG_CONFIG_PATH", pcpath, 1);
    snprintf(pcflags, sizeof pcflags, "%s/pkgconfig.txt", prefix);
    const char *pc[] = {"pkg-config", "--cflags", "--libs", "glorot-client", NULL};
    cr_assert_eq(th_run(pc, pcflags, 60), 0);
    unsigned char *flags = th_read_file(pcflags, NULL);
    snprintf(libdir, sizeof libdir, "-L%s/lib", prefix);
    cr_expect(flags != NULL && strstr((char *)flags, libdir) != NULL, "pkg-config: %s", flags);
    free(flags);

    /* an ASan-built library needs the ASan runtime in the program too */
    snprintf(cc, sizeof cc, "CC=cc%s", UNDER_ASAN ? " -fsanitize=address,undefined" : "");
    const char *build[] = {"make", "-s", "-C", example, cc, NULL};
    run_ok(build, "building the example");

    th_daemon d;
    cr_assert_eq(th_daemon_start(&d, NULL), 0);
    snprintf(libdir, sizeof libdir, "%s/lib", prefix);
    setenv("LD_LIBRARY_PATH", libdir, 1);
    snprintf(binary, sizeof binary, "%s/fetch_weights", example);
    snprintf(output, sizeof output, "%s/output.txt", prefix);
    const char *run[] = {binary, d.base_url, NULL};
    int rc = th_run(run, output, 60);
    int py_rc = run_installed_python(prefix, d.base_url);
    th_daemon_stop(&d);
    cr_expect_eq(py_rc, 0, "the installed Python package failed (see %s/python.txt)", prefix);
    cr_expect_eq(rc, 0, "the example failed");
    unsigned char *text = th_read_file(output, NULL);
    cr_expect(text != NULL && strstr((char *)text, "256 x 512 float32, seed 42") != NULL,
              "example printed: %s", text ? (char *)text : "(nothing)");
    free(text);

    char installed[700];
    snprintf(installed, sizeof installed, "%s/lib/libglorot-client.so.0", prefix);
    check_exports(installed, prefix);

    const char *cleanup[] = {"rm", "-rf", prefix, NULL};
    run_ok(cleanup, "rm");
}
