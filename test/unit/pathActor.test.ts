import { describe, expect, it } from "vitest";
import { PathState, pathProvider, runAs } from "../../providers/connection";
import type { SshTarget } from "../../lib/ssh";

/** The user that acts on a path comes from config: a read of the host (an owner it observed) never becomes it. */
const connection: SshTarget = { host: "203.0.113.10", port: 22, user: "root", hostKey: "ssh-ed25519 AAAA", privateKey: "k" };

function provider(observedOwner: string) {
    const actors: string[] = [];
    const p = pathProvider<PathState>({
        async observe(s) {
            actors.push(`observe:${runAs(s)}`);
            return { owner: observedOwner, mode: "777" };
        },
        async apply(s) {
            actors.push(`apply:${runAs(s)}`);
            return { ...s, found: false };
        },
        drifted: () => true,
        async remove(s) {
            actors.push(`remove:${runAs(s)}`);
        },
    });
    return { p, actors };
}

describe("the acting user of a path resource", () => {
    it.each([
        ["state with runtimeUser", { runtimeUser: "flows", owner: "flows" }, "flows"],
        ["state written before runtimeUser existed (the owner was the runtime user then)", { owner: "flows" }, "flows"],
    ])("%s: a refresh that sees root as the owner, then a destroy, both act as the runtime user", async (_what, over, want) => {
        const { p, actors } = provider("root");
        const state: PathState = { connection, path: "/home/flows/.secrets/gh-token", mode: "600", ...over };
        const once = await p.read!("id", state);
        const twice = await p.read!("id", once.props);
        await p.delete!("id", twice.props!);
        expect(twice.props).toMatchObject({ owner: "root", runtimeUser: want });
        expect(actors).toEqual([`observe:${want}`, `observe:${want}`, `remove:${want}`]);
    });
});
