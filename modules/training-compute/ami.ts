/**
 * Which AMI the training instances boot: the latest AWS Deep Learning **Base OSS Nvidia Driver GPU AMI** for Ubuntu,
 * resolved at plan time from its public SSM parameter, or an explicit (custom) AMI id.
 *
 * Why the Base OSS GPU AMI rather than the PyTorch one: the runtime trains inside the training image (Docker), so the
 * host only needs the NVIDIA driver, Docker and the NVIDIA container toolkit, which this AMI ships, plus what every
 * DLAMI has (the SSM agent, the CloudWatch agent, EFA, the `/opt/dlami/nvme` instance-store mount). The framework
 * DLAMIs add conda environments with PyTorch the container never uses: a bigger root snapshot (slower first boot)
 * and more packages to patch. It supports every x86_64 NVIDIA family this project allows (G4dn to P5 and newer).
 *
 * Parameter names follow AWS's documented scheme (DLAMI developer guide, "Finding the ID of a DLAMI"):
 * `/aws/service/deeplearning/ami/<architecture>/<ami type>/latest/ami-id`, the AMI type being the DLAMI's name
 * without "deep", "learning" and "ami": "Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 24.04)" gives
 * `base-oss-nvidia-driver-gpu-ubuntu-24.04`.
 */

/** The Ubuntu releases of the GPU DLAMI this project supports (`compute.ami.os`). */
export type DlamiOs = "ubuntu-24.04" | "ubuntu-22.04";

/** The DLAMI's CPU architecture: every GPU family allowed here is x86_64 (Graviton GPUs are excluded). */
export const DLAMI_ARCHITECTURE = "x86_64";

/** The public SSM parameter holding the latest Base OSS Nvidia Driver GPU DLAMI id for an Ubuntu release. */
export function dlamiParameterName(os: DlamiOs): string {
  return `/aws/service/deeplearning/ami/${DLAMI_ARCHITECTURE}/base-oss-nvidia-driver-gpu-${os}/latest/ami-id`;
}

/** Every parameter this module may read, by Ubuntu release. */
export const DLAMI_PARAMETERS: Readonly<Record<DlamiOs, string>> = {
  "ubuntu-24.04": dlamiParameterName("ubuntu-24.04"),
  "ubuntu-22.04": dlamiParameterName("ubuntu-22.04"),
};

/**
 * Root device of the Ubuntu DLAMIs. An `aws_instance` does not need it; a launch template's
 * `block_device_mappings` does, to resize and encrypt the root volume instead of adding a second one.
 */
export const DLAMI_ROOT_DEVICE_NAME = "/dev/sda1";

/** Login user of the Ubuntu DLAMIs (SSH, and the owner of `/home/ubuntu/nvme`). */
export const DLAMI_LOGIN_USER = "ubuntu";

/** Where the DLAMI mounts the NVMe instance store (the runtime's scratch space; lost on stop or termination). */
export const DLAMI_NVME_MOUNT = "/opt/dlami/nvme";
