// Reported by --version and in --audit; bump with each release.
export const VERSION = "0.1.0";
