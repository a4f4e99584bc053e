/** GitHub repository names: what GitHub accepts. */

/** Owner (user or organisation): letters, digits and single hyphens, not at either end, at most 39. */
const OWNER = /^(?=.{1,39}$)[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$/;
/** Repository name: letters, digits, '.', '_', '-', at most 100, not '.' or '..'. */
const NAME = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,100}$/;

/**
 * Why `owner/name` is not a repository name GitHub accepts, or undefined. An accepted one never starts with '-',
 * so it never reaches `gh` as an option.
 */
export function repositoryProblem(r: string): string | undefined {
    const parts = r.split("/");
    if (parts.length !== 2) return "must be 'owner/name'";
    if (!OWNER.test(parts[0])) return "owner must be letters, digits and single hyphens, not starting or ending with '-' (at most 39)";
    if (!NAME.test(parts[1])) return "name must be letters, digits, '.', '_' and '-' (at most 100), not '.' or '..'";
    return undefined;
}
