import * as pulumi from "@pulumi/pulumi";
import { profileDir, profileJson, ProfileInput, PROMPT_REF, renderProfile } from "../lib/profile";
import { repositorySlug } from "../lib/repository";
import type { SshTarget } from "../lib/ssh";
import { RemoteFile } from "../providers";

export interface AgentProfilesArgs {
    connection: pulumi.Input<SshTarget>;
    /** Everything but the repository; one profile is rendered per repository. */
    base: Omit<ProfileInput, "repository">;
    repositories: readonly string[];
    /** Prompt text installed beside each profile as `prompt.md`. */
    prompt: string;
    /** Write the files where GitHub Flows reads them; off renders the outputs only. */
    install: boolean;
}

/** One GitHub Flows profile per repository, rendered, validated, and installed under `<workspace>/cfg/`. */
export class AgentProfiles extends pulumi.ComponentResource {
    /** Rendered profile JSON per repository (`owner/name` -> JSON text). */
    public readonly profiles: pulumi.Output<Record<string, string>>;
    /** Host paths of the installed profile files. */
    public readonly paths: pulumi.Output<string[]>;

    constructor(name: string, args: AgentProfilesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("github-flows-host:index:AgentProfiles", name, {}, opts);
        const rendered = Object.fromEntries(args.repositories.map((r) => [r, profileJson(renderProfile({ ...args.base, repository: r }))]));
        const paths: string[] = [];
        if (args.install) {
            const b = args.base;
            for (const repo of args.repositories) {
                const dir = profileDir(b.workspaceDir, repo, b.profile.event, b.profile.action);
                const slug = `${name}-${repositorySlug(repo)}`;
                // The files hold no credential: 0644 so GitHub Flows (the runtime user) and an operator can read them.
                const common = { connection: args.connection, owner: b.runtimeUser, mode: "644" };
                new RemoteFile(`${slug}-profile`, { ...common, path: `${dir}/profile.json`, content: rendered[repo] }, { parent: this });
                new RemoteFile(`${slug}-prompt`, { ...common, path: `${dir}/${PROMPT_REF}`, content: args.prompt }, { parent: this });
                paths.push(`${dir}/profile.json`);
            }
        }
        this.profiles = pulumi.output(rendered);
        this.paths = pulumi.output(paths);
        this.registerOutputs({ profiles: this.profiles, paths: this.paths });
    }
}
