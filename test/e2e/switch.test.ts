import * as fs from "fs";
import { describe, expect, it } from "vitest";
import { onHost, plannedChanges, removeConfig, sandboxStack, setPlain, setSecret, stepNames, upOk } from "./harness";

const TOKEN_FILE = "/home/user/.secrets/gh-token";
const imageId = () => onHost("docker image inspect --format '{{.Id}}' github-flows-agent-codex:latest").trim();

/**
 * A live stack moves between the two paths, both ways: the state the defaults leave (a docker provider whose
 * options name the program's agent socket) must not trap a later run on the other path, and back.
 */
describe("switching imageSource and remoteCommands on a live stack", () => {
    const t = sandboxStack("switch", async ({ stack }) => {
        await setSecret(stack, "openaiApiKey", "sk-sandbox-switch-0001");
        await upOk(stack);
    });

    it("defaults -> ssh-pull + ssh2: the docker and command resources go, the host keeps its image and token", async () => {
        const before = imageId();
        await setPlain(t.stack, "imageSource", "ssh-pull");
        await setPlain(t.stack, "remoteCommands", "ssh2");
        const { steps, text } = await plannedChanges(t.stack);
        const names = stepNames(steps);
        expect(names, text).toEqual(expect.arrayContaining(["create sandbox-pull", "create sandbox-checks", "delete sandbox-checks", "delete sandbox-image", "delete sandbox-presence"]));
        await upOk(t.stack);
        expect(imageId()).toBe(before); // keepLocally: the image other runs use stays
        expect(fs.readFileSync(TOKEN_FILE, "utf8")).toBe(t.sb.validToken);
        expect(stepNames((await plannedChanges(t.stack)).steps)).toEqual([]);
    }, 300_000);

    it("and back to the defaults: the docker provider pulls through the agent again, then a clean host shows no changes", async () => {
        await removeConfig(t.stack, "imageSource");
        await removeConfig(t.stack, "remoteCommands");
        await upOk(t.stack);
        expect(imageId()).toMatch(/^sha256:/);
        for (let i = 0; i < 2; i++) expect(stepNames((await plannedChanges(t.stack)).steps)).toEqual([]);
    }, 300_000);
});
