/*
 * banned.h: turn unsafe libc calls into compile errors. Include it last.
 * Use snprintf, the buf helpers and the bounded parsers in scan.h instead.
 */
#ifndef HOIST_UTIL_BANNED_H
#define HOIST_UTIL_BANNED_H

#define HOIST_BANNED(func) sorry_##func##_is_banned_in_hoist

#undef strcpy
#define strcpy(x, y) HOIST_BANNED(strcpy)
#undef strcat
#define strcat(x, y) HOIST_BANNED(strcat)
#undef sprintf
#define sprintf(...) HOIST_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) HOIST_BANNED(vsprintf)
#undef strncpy
#define strncpy(x, y, n) HOIST_BANNED(strncpy)
#undef sscanf
#define sscanf(...) HOIST_BANNED(sscanf)
#undef strtok
#define strtok(x, y) HOIST_BANNED(strtok)
#undef atoi
#define atoi(x) HOIST_BANNED(atoi)
#undef gmtime
#define gmtime(x) HOIST_BANNED(gmtime)
#undef localtime
#define localtime(x) HOIST_BANNED(localtime)

#endif
