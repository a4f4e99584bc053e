import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";

/** `profile.promptFile`'s default: the prompt this package ships (prompts/prompt.md). */
export const DEFAULT_PROMPT_FILE = "prompts/prompt.md";

/**
 * The package's own prompts/prompt.md: beside the package.json of github-flows-host, found upwards from this file
 * (the checkout, boot/program.js's build under .build/, or the installed package's dist/).
 */
export function shippedPromptFile(): string | undefined {
    for (let dir = __dirname, i = 0; i < 5; i++, dir = path.dirname(dir)) {
        const file = path.join(dir, DEFAULT_PROMPT_FILE);
        try {
            if (JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")).name === "github-flows-host" && fs.existsSync(file)) return file;
        } catch {
            // not the package root
        }
    }
    return undefined;
}

/**
 * The project's directory (where Pulumi.yaml is), which relative paths in config are relative to. Not the working
 * directory: the engine starts a program whose Pulumi.yaml `main` names a file (boot/program.js) in that file's
 * directory. Under unit-test mocks the engine gives none, and the working directory stands in.
 */
export function projectDirectory(): string {
    const root = pulumi.getRootDirectory();
    return path.isAbsolute(root) ? root : process.cwd();
}

/**
 * The prompt text for `promptFile`, relative to `projectDir`; the default name falls back to the shipped prompt
 * when the project has none. Throws an Error naming the file it could not read.
 */
export function readPrompt(promptFile: string, projectDir = projectDirectory()): string {
    const file = path.resolve(projectDir, promptFile);
    try {
        return fs.readFileSync(file, "utf8");
    } catch (e) {
        const shipped = promptFile === DEFAULT_PROMPT_FILE ? shippedPromptFile() : undefined;
        if (shipped) return fs.readFileSync(shipped, "utf8");
        throw new Error(`cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? e})`);
    }
}
