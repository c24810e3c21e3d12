/**
 * The config file this worker reads for every run (`sddc-ops worker --config`, `dev`, tests).
 * Unset: the usual search ($SDDC_OPS_CONFIG, ./sddc-ops.yaml, ./config/sddc-ops.yaml).
 */
let configFile: string | undefined;

export function setWorkerConfigFile(file: string | undefined): void {
  configFile = file;
}

export function workerConfigFile(): string | undefined {
  return configFile;
}
