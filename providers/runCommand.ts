import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { launch } from "../lib/shell";
import { commandConnection, SshTarget } from "../lib/ssh";
import { SshCommand } from "./sshCommand";

export interface RunCommandArgs {
    connection: pulumi.Input<SshTarget>;
    create: pulumi.Input<string>;
    stdin?: pulumi.Input<string>;
    triggers?: pulumi.Input<unknown[]>;
    what: string;
    /** "pulumi-command": `@pulumi/command` remote.Command; "ssh2": the same contract without that plugin. */
    runner: "pulumi-command" | "ssh2";
}

/** A remote command run on create and re-run when its text, stdin or triggers change; returns its stdout. */
export function runCommand(name: string, a: RunCommandArgs, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    if (a.runner === "ssh2") {
        return new SshCommand(name, { connection: a.connection, create: a.create, stdin: a.stdin, triggers: a.triggers, what: a.what }, opts).stdout;
    }
    // The same command and stdin as the ssh2 runner sends (lib/ssh `exec`): the script travels on stdin, ahead of the
    // secret; a sudo admin's command is the same launcher behind `sudo -n`. Whether it is one is no secret.
    const sudo = pulumi.unsecret(pulumi.output(a.connection).apply((c) => c.sudo === true));
    const create = pulumi.all([a.create, sudo]).apply(([s, su]) => launch(s, "", su).command);
    const stdin = pulumi.all([a.create, a.stdin ?? "", sudo]).apply(([s, i, su]) => launch(s, i, su).input);
    return new command.remote.Command(
        name,
        { connection: pulumi.output(a.connection).apply(commandConnection), create, stdin, triggers: a.triggers, addPreviousOutputInEnv: false },
        { ...opts, additionalSecretOutputs: ["stdin"] },
    ).stdout;
}
