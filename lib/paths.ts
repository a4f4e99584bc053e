import * as path from "path";

/** Collapses `//` and drops a trailing `/`, so `/home/user/` and `/home//user` compare equal to `/home/user`. */
export function normalizePath(p: string): string {
    const n = path.posix.normalize(p);
    return n.length > 1 && n.endsWith("/") ? n.slice(0, -1) : n;
}

/** True when `inner` is `outer` or lies below it. */
export function isWithin(inner: string, outer: string): boolean {
    const i = normalizePath(inner);
    const o = normalizePath(outer);
    return i === o || o === "/" || i.startsWith(`${o}/`);
}
