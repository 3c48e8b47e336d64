/* Test only, never shipped: wine 8.0 (Debian 12) has no bcryptprimitives.dll, whose ProcessPrng Rust's std
 * (>= 1.78) imports; Windows 10+ and wine >= 8.13 have it. packaging/ci-check builds this into its wine
 * prefix. */
#include <windows.h>
#include <bcrypt.h>

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x7fffffff ? 0x7fffffff : (ULONG)len;
        if (BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0) return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
