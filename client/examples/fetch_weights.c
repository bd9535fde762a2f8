/*
 * fetch_weights.c - libglorot-client in a few lines: fetch a 256 x 512
 * float32 Glorot-uniform matrix from glorotd, verified against local
 * generation, and print what arrived.
 *
 *   make && ./fetch_weights http://127.0.0.1:8080
 */
#include <glorot/client.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    const char *url = argc > 1 ? argv[1] : "http://127.0.0.1:8080";
    glorot_options opts = {0};
    opts.verify = GLOROT_VERIFY_FULL; /* regenerate locally and compare */
    opts.timeout_ms = 30000;

    glorot_error err = {0};
    glorot_client *client = glorot_client_new(url, &opts, &err);
    if (client == NULL) {
        fprintf(stderr, "fetch_weights: %s\n", err.message);
        return 2;
    }

    glorot_request req;
    glorot_request_init(&req);
    req.rank = 2;
    req.shape[0] = 256;
    req.shape[1] = 512;
    req.seed = 42;
    req.seed_set = 1;

    uint64_t size = 0;
    if (glorot_size(&req, &size, &err) != GLOROT_OK) {
        fprintf(stderr, "fetch_weights: %s\n", err.message);
        glorot_client_free(client);
        return 3;
    }
    float *w = malloc((size_t)size);
    glorot_meta meta;
    glorot_code rc =
        w != NULL ? glorot_fetch(client, &req, w, (size_t)size, &meta, &err) : GLOROT_E_NOMEM;
    glorot_client_free(client);
    if (rc != GLOROT_OK) {
        fprintf(stderr, "fetch_weights: %s: %s\n", glorot_strerror(rc), err.message);
        free(w);
        return 4;
    }
    printf("%llu x %llu %s, seed %llu, limit %.9g, %llu bytes\n", (unsigned long long)meta.shape[0],
           (unsigned long long)meta.shape[1], meta.dtype, (unsigned long long)meta.seed, meta.limit,
           (unsigned long long)meta.size);
    printf("w[0] = %.9g, w[last] = %.9g\n", w[0], w[meta.numel - 1]);
    free(w);
    return 0;
}
