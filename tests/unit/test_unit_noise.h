/*
 * test_unit_noise.h - the deterministic noise of the hand-built areas of the attribution
 * suites (test_attrib.c, test_attrib_window.c, test_replay.c): a uniform number in [0, 1)
 * from three integers, so that every run builds the same area.
 */
#ifndef TEST_UNIT_NOISE_H
#define TEST_UNIT_NOISE_H

#include <stdint.h>

/* A uniform number in [0, 1) from (i, t, salt) (a splitmix-style mix of the three). */
static inline double unit(uint64_t i, uint64_t t, uint64_t salt)
{
	uint64_t z = i * 0x9e3779b97f4a7c15ull ^ (t + 0x632be59bd9b4e019ull) * 0xbf58476d1ce4e5b9ull ^
	             salt * 0x94d049bb133111ebull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (double)(z >> 11) / 9007199254740992.0;
}

#endif
