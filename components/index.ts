export * from "./credentialDirectories";
export * from "./githubTokenFile";
export * from "./agentImage";
export * from "./codexAuth";
export * from "./verification";
export * from "./agentProfiles";
export * from "./flowsHost";
export * from "./codexModel";
