import * as pulumi from "@pulumi/pulumi";
import { profileDir, profileJson, ProfileInput, profilesRoot, PROMPT_REF, renderProfile } from "../lib/profile";
import { repositorySlug } from "../lib/repository";
import type { SshTarget } from "../lib/ssh";
import { RemoteFile } from "../providers";

export interface AgentProfilesArgs {
    connection: pulumi.Input<SshTarget>;
    /** Everything but the repository (paths follow the host's runtime user); one profile is rendered per repository. */
    base: pulumi.Input<Omit<ProfileInput, "repository">>;
    repositories: readonly string[];
    /** Prompt text installed beside each profile as `prompt.md`. */
    prompt: string;
    /** Write the files where GitHub Flows reads them; off renders the outputs only. */
    install: boolean;
    /** The home or listed root the workspace lies in: root hands the runtime user no directory above it. */
    within?: pulumi.Input<string>;
}

/** One GitHub Flows profile per repository, rendered, validated, and installed under `<workspace>/cfg/`. */
export class AgentProfiles extends pulumi.ComponentResource {
    /** Rendered profile JSON per repository (`owner/name` -> JSON text). */
    public readonly profiles: pulumi.Output<Record<string, string>>;
    /** Host paths of the installed profile files. */
    public readonly paths: pulumi.Output<string[]>;

    constructor(name: string, args: AgentProfilesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("github-flows-host:index:AgentProfiles", name, {}, opts);
        const base = pulumi.output(args.base) as pulumi.Output<Omit<ProfileInput, "repository">>;
        const rendered = base.apply((b) => Object.fromEntries(args.repositories.map((r) => [r, profileJson(renderProfile({ ...b, repository: r }))])));
        const dirOf = (repo: string) => base.apply((b) => profileDir(b.workspaceDir, repo, b.profile.event, b.profile.action));
        const paths: pulumi.Output<string>[] = [];
        // Every profile's diff is answered from one reading of the host's profiles (providers/fileScan.ts).
        const scan = base.apply((b) => profilesRoot(b.workspaceDir));
        if (args.install) {
            for (const repo of args.repositories) {
                const dir = dirOf(repo);
                const slug = `${name}-${repositorySlug(repo)}`;
                // The files hold no credential: 0644 so GitHub Flows (the runtime user) and an operator can read them.
                const user = base.runtimeUser;
                const common = { connection: args.connection, owner: user, runtimeUser: user, mode: "644", within: args.within, scan };
                new RemoteFile(`${slug}-profile`, { ...common, path: pulumi.interpolate`${dir}/profile.json`, content: rendered.apply((r) => r[repo]) }, { parent: this });
                new RemoteFile(`${slug}-prompt`, { ...common, path: pulumi.interpolate`${dir}/${PROMPT_REF}`, content: args.prompt }, { parent: this });
                paths.push(pulumi.interpolate`${dir}/profile.json`);
            }
        }
        this.profiles = rendered;
        this.paths = pulumi.all(paths);
        // Not the profiles: the stack output holds them once (each copy in state is rewritten after every step).
        this.registerOutputs({});
    }
}
