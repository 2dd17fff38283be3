/* SPDX-License-Identifier: Apache-2.0 */
#include "otter_install_crypt.h"

#include <string.h>

#include "otter_tpm_crypt.h"

int otter_install_crypt_open(const otter_device *d, otter_pkg_reader *r, otter_crypt_key **out,
                             otter_err *err)
{
    *out = NULL;
    const char *path = d->conf->crypt_key;
    if (!path || !path[0])
        return 0;
    int ret;
    if (strncmp(path, "handle:", 7) == 0) { /* in the TPM: unwrapped there */
        ret = otter_tpm_crypt_key_load(d->conf->tpm_tcti, path, out, err);
    } else {
        ret = otter_crypt_key_load_file(path, out, err);
    }
    if (ret)
        return otter_err_prefix(err, "[crypt] key %s", path);
    otter_pkg_reader_set_decryption_key(r, *out);
    return 0;
}
