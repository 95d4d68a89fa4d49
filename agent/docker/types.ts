// The parts of the Engine API's (v1.41) JSON shapes the agent reads.

export type ContainerSummary = {
  Id: string;
  Names: string[];
  Image: string;
  /** Unix seconds. */
  Created: number;
  /** created | restarting | running | removing | paused | exited | dead */
  State: string;
  Status: string;
  Labels: Record<string, string>;
};

export type PortBinding = { HostIp: string; HostPort: string };

export type ContainerInspect = {
  Id: string;
  Name: string;
  /** The id of the image it was created from. */
  Image: string;
  Created: string;
  State: {
    Status: string;
    Running: boolean;
    Paused: boolean;
    Restarting: boolean;
    Pid: number;
    ExitCode: number;
    Health?: { Status: string };
  };
  Config: { Image: string; Labels: Record<string, string>; Env: string[] | null; User: string };
  HostConfig: Record<string, unknown> & {
    CapDrop: string[] | null;
    CapAdd: string[] | null;
    SecurityOpt: string[] | null;
    ReadonlyRootfs: boolean;
    Privileged: boolean;
    Memory: number;
    NanoCpus: number;
    PidsLimit: number | null;
    Binds: string[] | null;
    Tmpfs: Record<string, string> | null;
    PortBindings: Record<string, PortBinding[]> | null;
    RestartPolicy: { Name: string; MaximumRetryCount: number };
    LogConfig: { Type: string; Config: Record<string, string> };
    NetworkMode: string;
    UsernsMode: string;
  };
  Mounts: { Type: string; Name?: string; Source: string; Destination: string; RW: boolean }[];
  NetworkSettings: {
    Ports: Record<string, PortBinding[] | null>;
    Networks: Record<string, { IPAddress: string; NetworkID: string; Gateway: string }>;
  };
};

export type NetworkInspect = {
  Id: string;
  Name: string;
  Options: Record<string, string>;
  IPAM: { Config: { Subnet: string; Gateway: string }[] };
  Labels: Record<string, string>;
};

export type VolumeInspect = { Name: string; Labels: Record<string, string> | null; Mountpoint: string };

export type ImageSummary = {
  Id: string;
  RepoTags: string[] | null;
  Size: number;
  Labels: Record<string, string> | null;
};

export type ImageInspect = {
  Id: string;
  Size: number;
  Config: { User: string; Labels: Record<string, string> | null; Volumes?: Record<string, object> | null };
};

export type EngineInfo = {
  SecurityOptions: string[];
  NCPU: number;
  MemTotal: number;
  Containers: number;
  LiveRestoreEnabled: boolean;
  CgroupVersion?: string;
  /** Ends in `/<uid>.<gid>` (the remap's first ids) when the daemon runs with userns-remap. */
  DockerRootDir?: string;
};

export type EngineVersion = { Version: string; ApiVersion: string; Os: string; Arch: string };

export type ExecConfig = {
  Cmd: string[];
  Tty: boolean;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  Env?: string[];
  User?: string;
  WorkingDir?: string;
};

export type EngineEvent = {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
};

export type DockerStats = {
  cpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage?: number };
  memory_stats: { usage?: number; limit?: number; stats?: Record<string, number> };
  pids_stats?: { current?: number };
};
