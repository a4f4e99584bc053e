export * from "./target";
export * from "./client";
export * from "./command";
export * from "./openssh";
export * from "./agent";
export * from "./login";
export * from "./dockerProxy";
export * from "./importTarget";
