export * from "./remoteDirectory";
export * from "./remoteFile";
export * from "./pulledImage";
export * from "./sshCommand";
export * from "./runCommand";
export * from "./codexLogin";
export * from "./imagePresence";
export * from "./hostAccount";
