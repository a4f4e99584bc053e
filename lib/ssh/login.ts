/**
 * Which account the program logs in as, and how it becomes root. Decided once per host from the config alone
 * (`loginKind`), so the same host always gets the same command text; the account read checks on the host, before
 * any change, that a sudo login really can `sudo -n` (`sudoProbeScript`, `sudoRefusal`).
 *
 * - `root`: scripts run as root; whatever the runtime user can touch they do as the runtime user (lib/hostfs.ts).
 * - `runtime-user`: scripts run as the runtime user itself (its files, its docker group).
 * - `sudo`: any other account; every script runs as root through `sudo -n` (never a password prompt), with the
 *   same rules as a root login.
 */

export type LoginKind = "root" | "runtime-user" | "sudo";

/** The login kind of SSH user `sshUser` on a host whose runtime user is `runtimeUser`. */
export function loginKind(sshUser: string, runtimeUser: string): LoginKind {
    if (sshUser === "root") return "root";
    if (sshUser === runtimeUser) return "runtime-user";
    return "sudo";
}

/** What the launcher puts before `/bin/sh`: non-interactive sudo (`-n`: fail at once rather than ask for a password). */
export const SUDO_PREFIX = "sudo -n ";

/** The probe, as the launcher runs it under sudo: the exact command every script then runs through. */
export const SUDO_PROBE = "sudo -n /bin/sh -c true";

/** First output line of `sudoProbeScript` when the login cannot use sudo; the rest of the line is why. */
export const NO_SUDO = "github-flows-host:no-sudo";

/**
 * Shell text run as the login itself (not through sudo): prints `NO_SUDO <exit> <sudo's message>` and stops when
 * `sudo -n` refuses (stdin closed: it can never wait for a password), else runs `then`.
 */
export function sudoProbeScript(then: string): string {
    return [
        `if err=$(${SUDO_PROBE} 2>&1 </dev/null); then :; else`,
        `  rc=$?; printf '%s %s %s\\n' '${NO_SUDO}' "$rc" "$(printf '%s' "$err" | tr '\\n' ' ')"; exit 0`,
        "fi",
        then,
    ].join("\n");
}

/** The refusal named by `sudoProbeScript`'s output, or undefined when sudo works. */
export function sudoRefusal(out: string, where: string, sshUser: string, runtimeUser: string): Error | undefined {
    const first = out.split("\n")[0] ?? "";
    if (!first.startsWith(`${NO_SUDO} `)) return undefined;
    const m = /^(\d+) ?(.*)$/.exec(first.slice(NO_SUDO.length + 1)) ?? ["", "", ""];
    const why = m[1] === "127" ? "sudo is not installed" : m[2].trim() || `exit ${m[1]}`;
    return new Error(
        `${where}: the SSH user '${sshUser}' is neither root nor the runtime user '${runtimeUser}', and \`${SUDO_PROBE}\` fails: ${why}. ` +
            `Give '${sshUser}' passwordless sudo (e.g. '${sshUser} ALL=(ALL:ALL) NOPASSWD: ALL' in /etc/sudoers.d/), ` +
            `or log in as root or as '${runtimeUser}'. Nothing was changed on the host.`,
    );
}
