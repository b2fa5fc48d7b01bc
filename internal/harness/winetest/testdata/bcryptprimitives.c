/* A STAND-IN for Windows' bcryptprimitives.dll, built by the Wine test into its
   throwaway prefix only: Wine 8.0 lacks ProcessPrng, the Go runtime's random
   source since Go 1.22. It is never shipped. */
#include <windows.h>
BOOLEAN NTAPI SystemFunction036(PVOID buf, ULONG len);
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
	while (len > 0) {
		ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
		if (!SystemFunction036(data, n)) return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
