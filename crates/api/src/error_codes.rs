//! The ECS error-code catalogue.
//!
//! Every error ecsd reports carries a code (`Ecs.0114`), an HTTP status and a message. This
//! module holds all of them as constants, so the rest of the code names an error by its
//! constant (`ECS_0114`) and never spells a code, a status or a message by hand.
//!
//! # Source
//!
//! [`CATALOGUE`] is a transcription of the "Error Codes" table in
//! `ecs-api-ref/appendix/error_codes.rst` (the ECS API reference's appendix): 155 codes,
//! 141 `Ecs.*`, 13 `Common.*` and 1 `Pdp.*`, in the appendix's order (which is not sorted: the
//! `Pdp` and `Common` codes come last, and `Common.0999` precedes `Common.0025`). For each
//! code the constant keeps:
//!
//! * `status`: the appendix's "HTTP Status Code", unchanged, even where it is odd (see below);
//! * `message`: the appendix's English "Error Message" column, joined onto one line and
//!   trimmed; and the "Description" and "Solution" columns go into the constant's doc comment.
//!
//! A unit test checks that [`CATALOGUE`] has exactly the appendix's codes with the appendix's
//! HTTP statuses, in its order, against `tests/reference/error_codes.json`: the table's codes
//! and statuses as data of the repository, extracted from the appendix and kept equal to it by
//! the `reference_data` test of `crates/ecsd/tests/it` (README, "Reference facts").
//!
//! # Decisions
//!
//! * **Slips in the appendix are corrected, with a `//` comment at the constant.** `Ecs.0915`
//!   ("name contains invalid characters") reuses the message of `Ecs.0914` ("name too long")
//!   in the appendix; ecsd says "The ECS name contains invalid characters." instead
//!   (ASYNC-OPERATIONS.md §6 row 28). `Ecs.0102`'s message ("data disk") is kept although its
//!   description says "system disk". Messages that lack a final full stop in the appendix
//!   (`Ecs.0913`, `Common.0026`) and its odd English (`Ecs.0023`, `Common.0021`,
//!   `Common.0022`, `Common.0999`) are kept verbatim, because clients may compare them.
//! * **Odd HTTP statuses are kept.** `Common.0024` ("Flow limit exceeded.") is listed with
//!   HTTP **202**; the catalogue keeps 202, but ecsd never emits that code: it throttles with
//!   429 [`COMMON_1503`] (ASYNC-OPERATIONS.md §6 row 8). `Ecs.0603` ("commands are being
//!   executed") keeps its 501.
//! * **One code, one message.** The appendix warns that a code may carry several different
//!   messages and lists only the common one. The constant holds that one; a caller that has a
//!   more specific text may send it with the code instead.
//! * **The HTTP status is for synchronous answers.** The appendix warns that many codes only
//!   appear inside job results (`error_code` / `fail_reason` of a failed job), where the HTTP
//!   status means nothing. Such codes are still listed with their appendix status.
//! * **`%s` placeholders.** `Pdp.0001`, `Common.0025` and `Common.1503` have a `%s` in their
//!   message; [`ErrorCode::render`] fills it in.
//! * **ecsd's own codes.** HTTP-level failures that happen before any ECS API is reached
//!   (unknown route, wrong method, body too large, wrong content type, a body or a whole
//!   request that does not arrive or finish in time) have no code in the reference. ecsd gives
//!   them codes with its own prefix, `Ecsd.`, whose number is the HTTP status. They live in the separate [`ECSD_CODES`] list, never in
//!   [`CATALOGUE`], so the catalogue stays exactly the reference's. [`lookup`] searches both.

/// One error code: what goes into the `code` and `message` fields of an error body, and the
/// HTTP status that goes with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode {
    /// The code, e.g. `"Ecs.0114"`.
    pub code: &'static str,
    /// The HTTP status code of a synchronous answer carrying this error.
    pub status: u16,
    /// The English message (the appendix's "Error Message" column).
    pub message: &'static str,
}

impl ErrorCode {
    /// The message with its first `%s` placeholder replaced by `detail`.
    ///
    /// Only `Pdp.0001`, `Common.0025` and `Common.1503` have a placeholder; for every other
    /// code this returns the message unchanged and ignores `detail`.
    pub fn render(&self, detail: &str) -> String {
        self.message.replacen("%s", detail, 1)
    }
}

// ---------------------------------------------------------------------------------------------
// The reference's codes, in the order of the appendix's table.
// ---------------------------------------------------------------------------------------------

/// `Ecs.0000` (HTTP 400): Request error.
///
/// Solution (from the appendix): Check the request body according to the returned error
/// message.
pub const ECS_0000: ErrorCode = ErrorCode {
    code: "Ecs.0000",
    status: 400,
    message: "Request error. Try again later or contact customer service.",
};

/// `Ecs.0001` (HTTP 400): The number of ECSs has reached the maximum allowed.
///
/// Solution (from the appendix): Apply for higher quotas of the corresponding resources based
/// on the returned error message. Note: When applying for increasing ECS resource quotas, you
/// need to evaluate the number of ECSs, vCPUs, and memory capacity (RAM) required.
pub const ECS_0001: ErrorCode = ErrorCode {
    code: "Ecs.0001",
    status: 400,
    message: "Insufficient ECS quota. Contact customer service to increase quota.",
};

/// `Ecs.0002` (HTTP 400): Failed to submit the task.
///
/// Solution (from the appendix): Contact technical support to locate the fault.
pub const ECS_0002: ErrorCode = ErrorCode {
    code: "Ecs.0002",
    status: 400,
    message: "A system exception occurred. Try again later or contact customer service.",
};

/// `Ecs.0003` (HTTP 403): You do not have permission or your balance is insufficient.
///
/// Solution (from the appendix): Check whether the account balance is insufficient or the
/// account is frozen according to the returned error message.
pub const ECS_0003: ErrorCode = ErrorCode {
    code: "Ecs.0003",
    status: 403,
    message: "You do not have permission to perform this operation. Contact customer service to obtain permission.",
};

/// `Ecs.0004` (HTTP 400): Authentication failed.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0004: ErrorCode = ErrorCode {
    code: "Ecs.0004",
    status: 400,
    message: "A system exception occurred. Try again later or contact customer service.",
};

/// `Ecs.0005` (HTTP 400): Invalid parameters.
///
/// Solution (from the appendix): Check whether the request body is of the correct JSON
/// structure according to the API reference.
pub const ECS_0005: ErrorCode = ErrorCode {
    code: "Ecs.0005",
    status: 400,
    message: "Invalid parameter values. Contact customer service.",
};

/// `Ecs.0007` (HTTP 400): Invalid image attributes.
///
/// Solution (from the appendix): Adjust the specifications or image type.
pub const ECS_0007: ErrorCode = ErrorCode {
    code: "Ecs.0007",
    status: 400,
    message: "A system exception occurred. Try again later or contact customer service.",
};

/// `Ecs.0008` (HTTP 400): Invalid flavor attributes.
///
/// Solution (from the appendix): Contact technical support to check whether the flavor
/// registration is valid.
pub const ECS_0008: ErrorCode = ErrorCode {
    code: "Ecs.0008",
    status: 400,
    message: "A system exception occurred. Try again later or contact customer service.",
};

/// `Ecs.0009` (HTTP 400): The flavor is not changed.
///
/// Solution (from the appendix): Select a flavor different from the current flavor.
pub const ECS_0009: ErrorCode = ErrorCode {
    code: "Ecs.0009",
    status: 400,
    message: "Another flavor must be used for resizing.",
};

/// `Ecs.0010` (HTTP 400): The private IP address is already in use.
///
/// Solution (from the appendix): Replace the IP address with an unused one.
pub const ECS_0010: ErrorCode = ErrorCode {
    code: "Ecs.0010",
    status: 400,
    message: "The private IP address is already being used. Select another IP address.",
};

/// `Ecs.0011` (HTTP 400): Failed to meet password complexity requirements.
///
/// Solution (from the appendix): Check the password length and change the password.
pub const ECS_0011: ErrorCode = ErrorCode {
    code: "Ecs.0011",
    status: 400,
    message: "Ensure the password meets the password complexity requirements.",
};

/// `Ecs.0012` (HTTP 400): The number of IP addresses in the subnet is insufficient.
///
/// Solution (from the appendix): Check whether the floating IP addresses of the subnet are used
/// up.
pub const ECS_0012: ErrorCode = ErrorCode {
    code: "Ecs.0012",
    status: 400,
    message: "The subnet does not contain enough IP addresses. Release some IP addresses or select a different subnet.",
};

/// `Ecs.0013` (HTTP 400): Insufficient EIP quota.
///
/// Solution (from the appendix): Apply for a higher EIP quota because the EIP quota is
/// insufficient.
pub const ECS_0013: ErrorCode = ErrorCode {
    code: "Ecs.0013",
    status: 400,
    message: "The current EIP quota limit has been reached. Apply to increase the quota.",
};

/// `Ecs.0014` (HTTP 400): Invalid VPC parameters.
///
/// Solution (from the appendix): Check whether the subnets belong to the same VPC.
pub const ECS_0014: ErrorCode = ErrorCode {
    code: "Ecs.0014",
    status: 400,
    message: "Incorrect VPC, subnet, or security group parameter values.",
};

/// `Ecs.0015` (HTTP 400): The disk of this type is not applicable to the ECS.
///
/// Solution (from the appendix): Check whether the disk type is supported by the flavor.
pub const ECS_0015: ErrorCode = ErrorCode {
    code: "Ecs.0015",
    status: 400,
    message: "Invalid disk type for this type of ECS. Select a valid disk type and try again.",
};

/// `Ecs.0017` (HTTP 400): The ECS is not the target one that the system disk or data disk is to
/// be attached.
///
/// Solution (from the appendix): Check whether the `__system__server_id` value in disk metadata
/// is the same as the UUID of the ECS to which the system disk or data disk is to be attached.
pub const ECS_0017: ErrorCode = ErrorCode {
    code: "Ecs.0017",
    status: 400,
    message: "The status of the selected disk does not meet the attachment requirements on the ECS. Select an available disk for attaching.",
};

/// `Ecs.0021` (HTTP 400): Insufficient EVS disk quota.
///
/// Solution (from the appendix): Apply for a higher EVS disk quota.
pub const ECS_0021: ErrorCode = ErrorCode {
    code: "Ecs.0021",
    status: 400,
    message: "Insufficient EVS disk quota. Contact customer service to increase quota.",
};

/// `Ecs.0022` (HTTP 400): The number of ECSs in the ECS group exceeded the upper limit.
///
/// Solution (from the appendix): Apply for a higher ECS quota for an ECS group.
pub const ECS_0022: ErrorCode = ErrorCode {
    code: "Ecs.0022",
    status: 400,
    message: "Insufficient ECS group quota. Contact customer service to increase quota.",
};

/// `Ecs.0023` (HTTP 400): Invalid token, or the project ID in the token is different from that
/// in the URL.
///
/// Solution (from the appendix): Apply for a valid token or check the project ID in the URL.
pub const ECS_0023: ErrorCode = ErrorCode {
    code: "Ecs.0023",
    status: 400,
    message: "project_id in token mismatches with project_id in url.",
};

/// `Ecs.0025` (HTTP 400): EVS is not authorized to obtain KMS keys for encrypting EVS disks.
///
/// Solution (from the appendix): Authorize EVS to obtain KMS keys for encrypting EVS disks.
pub const ECS_0025: ErrorCode = ErrorCode {
    code: "Ecs.0025",
    status: 400,
    message: "EVS is not authorized to obtain KMS keys for encrypting EVS disks.",
};

/// `Ecs.0029` (HTTP 400): The flavor does not exist or has been abandoned.
///
/// Solution (from the appendix): Switch to another flavor.
pub const ECS_0029: ErrorCode = ErrorCode {
    code: "Ecs.0029",
    status: 400,
    message: "The flavor does not exist.",
};

/// `Ecs.0030` (HTTP 400): The ECS has been frozen.
///
/// Solution (from the appendix): Check whether the account has been frozen or contact technical
/// support.
pub const ECS_0030: ErrorCode = ErrorCode {
    code: "Ecs.0030",
    status: 400,
    message: "The ECS has been frozen and does not support specifications modification.",
};

/// `Ecs.0031` (HTTP 400): The image does not exist.
///
/// Solution (from the appendix): Replace the image.
pub const ECS_0031: ErrorCode = ErrorCode {
    code: "Ecs.0031",
    status: 400,
    message: "The image does not exist.",
};

/// `Ecs.0032` (HTTP 400): The image is not in Active state.
///
/// Solution (from the appendix): Replace the image.
pub const ECS_0032: ErrorCode = ErrorCode {
    code: "Ecs.0032",
    status: 400,
    message: "The image is not in Active state.",
};

/// `Ecs.0034` (HTTP 400): The full-ECS backup does not exist or has been deleted.
///
/// Solution (from the appendix): Replace the image.
pub const ECS_0034: ErrorCode = ErrorCode {
    code: "Ecs.0034",
    status: 400,
    message: "The full-ECS backup does not exist or has been deleted.",
};

/// `Ecs.0036` (HTTP 400): The flavor does not support automatic recovery.
///
/// Solution (from the appendix): Change another flavor.
pub const ECS_0036: ErrorCode = ErrorCode {
    code: "Ecs.0036",
    status: 400,
    message: "The flavor does not support automatic recovery.",
};

/// `Ecs.0037` (HTTP 400): The flavor does not support SCSI disks.
///
/// Solution (from the appendix): Change another flavor or type.
pub const ECS_0037: ErrorCode = ErrorCode {
    code: "Ecs.0037",
    status: 400,
    message: "The flavor does not support SCSI disks.",
};

/// `Ecs.0038` (HTTP 400): The subnet does not exist.
///
/// Solution (from the appendix): Adjust the network parameter settings.
pub const ECS_0038: ErrorCode = ErrorCode {
    code: "Ecs.0038",
    status: 400,
    message: "The subnet does not exist.",
};

/// `Ecs.0039` (HTTP 400): The specified IP address does not belong to the subnet.
///
/// Solution (from the appendix): Change the specified private IP address.
pub const ECS_0039: ErrorCode = ErrorCode {
    code: "Ecs.0039",
    status: 400,
    message: "The specified IP address does not belong to the subnet.",
};

/// `Ecs.0041` (HTTP 400): Invalid description field.
///
/// Solution (from the appendix): Modify the service description field.
pub const ECS_0041: ErrorCode = ErrorCode {
    code: "Ecs.0041",
    status: 400,
    message: "Invalid description field.",
};

/// `Ecs.0042` (HTTP 400): The number of attached data disks exceeds the maximum allowed limit.
///
/// Solution (from the appendix): Adjust the number of attached data disks.
pub const ECS_0042: ErrorCode = ErrorCode {
    code: "Ecs.0042",
    status: 400,
    message: "The number of attached data disks exceeds the maximum allowed limit.",
};

/// `Ecs.0043` (HTTP 400): The disk type does not exist.
///
/// Solution (from the appendix): Change the disk type.
pub const ECS_0043: ErrorCode = ErrorCode {
    code: "Ecs.0043",
    status: 400,
    message: "The disk type does not exist.",
};

/// `Ecs.0044` (HTTP 400): The disk of this type has been sold out.
///
/// Solution (from the appendix): Change the disk type.
pub const ECS_0044: ErrorCode = ErrorCode {
    code: "Ecs.0044",
    status: 400,
    message: "The disk of this type has been sold out.",
};

/// `Ecs.0045` (HTTP 400): The bandwidth exceeds the maximum size allowed.
///
/// Solution (from the appendix): Adjust the bandwidth.
pub const ECS_0045: ErrorCode = ErrorCode {
    code: "Ecs.0045",
    status: 400,
    message: "The bandwidth exceeds the maximum allowed limit.",
};

/// `Ecs.0046` (HTTP 400): The disk type of the ECS is different from that of the snapshot
/// image.
///
/// Solution (from the appendix): Change the disk type.
pub const ECS_0046: ErrorCode = ErrorCode {
    code: "Ecs.0046",
    status: 400,
    message: "When creating an ECS using an image, ensure that the type of the attached data disk is the same as that required by the image.",
};

/// `Ecs.0048` (HTTP 400): The full-ECS image is unavailable.
///
/// Solution (from the appendix): Check the full-ECS image.
pub const ECS_0048: ErrorCode = ErrorCode {
    code: "Ecs.0048",
    status: 400,
    message: "Ensure that the image status is Normal and that the status of the CSBS backup associated with the image is Available or Creating, and try again later.",
};

/// `Ecs.0050` (HTTP 400): The number of NICs attached to the ECS exceeds the maximum value
/// allowed.
///
/// Solution (from the appendix): Adjust the number of NICs.
pub const ECS_0050: ErrorCode = ErrorCode {
    code: "Ecs.0050",
    status: 400,
    message: "The number of NICs attached to the ECS exceeds the quota.",
};

/// `Ecs.0051` (HTTP 400): The attached disk is not of SCSI type.
///
/// Solution (from the appendix): Change the disk type.
pub const ECS_0051: ErrorCode = ErrorCode {
    code: "Ecs.0051",
    status: 400,
    message: "Only SCSI disks can be attached to the ECSs of this flavor.",
};

/// `Ecs.0052` (HTTP 400): The attached system disk is not of SCSI type.
///
/// Solution (from the appendix): Change the system disk type.
pub const ECS_0052: ErrorCode = ErrorCode {
    code: "Ecs.0052",
    status: 400,
    message: "Only SCSI system disks can be attached to the ECSs of this flavor.",
};

/// `Ecs.0053` (HTTP 400): The attached data disk is not of SCSI type.
///
/// Solution (from the appendix): Change the data disk type.
pub const ECS_0053: ErrorCode = ErrorCode {
    code: "Ecs.0053",
    status: 400,
    message: "Only SCSI data disks can be attached to the ECSs of this flavor.",
};

/// `Ecs.0057` (HTTP 400): The disk has been attached to the ECS.
///
/// Solution (from the appendix): Attach a new disk to the ECS.
pub const ECS_0057: ErrorCode = ErrorCode {
    code: "Ecs.0057",
    status: 400,
    message: "The disk has already been attached to the ECS and you cannot repeatedly attach it.",
};

/// `Ecs.0058` (HTTP 400): The provideId of the image does not match the account ID.
///
/// Solution (from the appendix): Check the account permission and image.
pub const ECS_0058: ErrorCode = ErrorCode {
    code: "Ecs.0058",
    status: 400,
    message: "You do not have permission to use a third-party image to create ECSs.",
};

/// `Ecs.0062` (HTTP 400): The flavor does not allow settings of the NIC driver type.
///
/// Solution (from the appendix): Change another flavor.
pub const ECS_0062: ErrorCode = ErrorCode {
    code: "Ecs.0062",
    status: 400,
    message: "The flavor does not support the driver mode.",
};

/// `Ecs.0064` (HTTP 400): Inconsistent VPC ID in the request body with that in the primary NIC.
///
/// Solution (from the appendix): Adjust the NIC parameter settings.
pub const ECS_0064: ErrorCode = ErrorCode {
    code: "Ecs.0064",
    status: 400,
    message: "The VPC ID in the request is inconsistent with that in the main subnet ID.",
};

/// `Ecs.0066` (HTTP 403): Restricted due to lack of real-name authentication.
///
/// Solution (from the appendix): Check whether the account is restricted due to lack of
/// real-name authentication.
pub const ECS_0066: ErrorCode = ErrorCode {
    code: "Ecs.0066",
    status: 403,
    message: "This operation cannot be performed because real-name authentication has not been completed.",
};

/// `Ecs.0067` (HTTP 403): Restricted due to insufficient balance.
///
/// Solution (from the appendix): Check whether the account is restricted due to insufficient
/// balance.
pub const ECS_0067: ErrorCode = ErrorCode {
    code: "Ecs.0067",
    status: 403,
    message: "Insufficient account balance.",
};

/// `Ecs.0068` (HTTP 403): Restricted due to a non-partner.
///
/// Solution (from the appendix): Check whether the account is restricted due to a non-partner.
pub const ECS_0068: ErrorCode = ErrorCode {
    code: "Ecs.0068",
    status: 403,
    message: "This operation cannot be performed by partners.",
};

/// `Ecs.0069` (HTTP 403): Restricted due to incomplete payment information.
///
/// Solution (from the appendix): Check whether the payment information of the account is
/// complete.
pub const ECS_0069: ErrorCode = ErrorCode {
    code: "Ecs.0069",
    status: 403,
    message: "You have not associated a payment method with your account.",
};

/// `Ecs.0070` (HTTP 403): Restricted because account budget of the enterprise department is
/// insufficient.
///
/// Solution (from the appendix): Check whether the budget of the enterprise department account
/// is sufficient.
pub const ECS_0070: ErrorCode = ErrorCode {
    code: "Ecs.0070",
    status: 403,
    message: "Insufficient budget. Contact the enterprise administrator and request for a budget increase.",
};

/// `Ecs.0071` (HTTP 403): Restricted due to a malicious account.
///
/// Solution (from the appendix): Check whether the account is malicious.
pub const ECS_0071: ErrorCode = ErrorCode {
    code: "Ecs.0071",
    status: 403,
    message: "This operation cannot be performed because your account has been suspended.",
};

/// `Ecs.0073` (HTTP 400): The system disk is being backed up.
///
/// Solution (from the appendix): You are not allowed to delete a system disk that is being
/// backed up.
pub const ECS_0073: ErrorCode = ErrorCode {
    code: "Ecs.0073",
    status: 400,
    message:
        "The system disk is being backed up. Wait until the execution is complete and try again.",
};

/// `Ecs.0074` (HTTP 400): External users are not allowed to create Windows ECSs.
///
/// Solution (from the appendix): External users, including non-third-party users, are not
/// allowed to purchase Windows images.
pub const ECS_0074: ErrorCode = ErrorCode {
    code: "Ecs.0074",
    status: 400,
    message: "Windows images do not support external users.",
};

/// `Ecs.0075` (HTTP 400): Partners can purchase only Windows images.
///
/// Solution (from the appendix): Purchase only Windows images.
pub const ECS_0075: ErrorCode = ErrorCode {
    code: "Ecs.0075",
    status: 400,
    message: "Partners only support Windows images.",
};

/// `Ecs.0085` (HTTP 400): The ECS does not have the NIC.
///
/// Solution (from the appendix): Replace a NIC.
pub const ECS_0085: ErrorCode = ErrorCode {
    code: "Ecs.0085",
    status: 400,
    message: "The server does not have the interface.",
};

/// `Ecs.0086` (HTTP 400): The NIC is not the primary NIC.
///
/// Solution (from the appendix): Replace a NIC.
pub const ECS_0086: ErrorCode = ErrorCode {
    code: "Ecs.0086",
    status: 400,
    message: "The interface is not the primary interface.",
};

/// `Ecs.0090` (HTTP 400): BYOL image features are not supported in this region.
///
/// Solution (from the appendix): Change the image or contact technical support.
pub const ECS_0090: ErrorCode = ErrorCode {
    code: "Ecs.0090",
    status: 400,
    message: "Image license type is BYOL, the BYOL feature is not supported at this time.",
};

/// `Ecs.0100` (HTTP 400): The ECS status does not meet requirements.
///
/// Solution (from the appendix): The current ECS status does not support the operation. Change
/// the ECS status to the specified status and try again.
pub const ECS_0100: ErrorCode = ErrorCode {
    code: "Ecs.0100",
    status: 400,
    message: "The ECS status does not meet requirements. Make the ECS in the required status and try again.",
};

/// `Ecs.0101` (HTTP 400): Abnormal system disk status.
///
/// Solution (from the appendix): For details, contact technical support.
pub const ECS_0101: ErrorCode = ErrorCode {
    code: "Ecs.0101",
    status: 400,
    message:
        "The system disk is currently unresponsive. Try again later or contact customer service.",
};

/// `Ecs.0102` (HTTP 400): The system disk status does not allow the disk to be detached.
///
/// Solution (from the appendix): Check the system disk status.
// The appendix's Description for this code says "The system disk status does not allow
// the disk to be detached", while the Error Message (kept here) says "data disk".
// Ecs.0101 is the system-disk code, so the message's "data disk" is taken as the
// right one (ASYNC-OPERATIONS.md §6 row 28).
pub const ECS_0102: ErrorCode = ErrorCode {
    code: "Ecs.0102",
    status: 400,
    message:
        "The data disk is currently unresponsive. Try again later or contact customer service.",
};

/// `Ecs.0103` (HTTP 400): The disk is unavailable.
///
/// Solution (from the appendix): Check the disk status or contact technical support to change
/// the disk status.
pub const ECS_0103: ErrorCode = ErrorCode {
    code: "Ecs.0103",
    status: 400,
    message: "The disk can be attached to a server only when it exists and is in the Available state. Check the disk status and try again.",
};

/// `Ecs.0104` (HTTP 400): Insufficient ECS disk quota for attaching more disks.
///
/// Solution (from the appendix): Detach some attached disks from the ECS and try to attach new
/// disks.
pub const ECS_0104: ErrorCode = ErrorCode {
    code: "Ecs.0104",
    status: 400,
    message: "The number of EVS disks that can be attached to the ECS has reached the maximum number allowed. Detach some disks and try again.",
};

/// `Ecs.0105` (HTTP 400): Failed to query the ECS system disk.
///
/// Solution (from the appendix): Attach the system disk to the ECS and try again.
pub const ECS_0105: ErrorCode = ErrorCode {
    code: "Ecs.0105",
    status: 400,
    message: "No system disk found. Attach the system disk to the ECS and try again.",
};

/// `Ecs.0106` (HTTP 400): Abnormal network status.
///
/// Solution (from the appendix): Contact technical support to locate the fault.
pub const ECS_0106: ErrorCode = ErrorCode {
    code: "Ecs.0106",
    status: 400,
    message: "A network exception occurred. Try again later or contact customer service.",
};

/// `Ecs.0110` (HTTP 403): Operations are prohibited on the client due to permissions.
///
/// Solution (from the appendix): You do not have the permission to perform such an operation.
/// Check token permissions. For details, see the error message returned by the API.
pub const ECS_0110: ErrorCode = ErrorCode {
    code: "Ecs.0110",
    status: 403,
    message: "Contact the main account to obtain permission.",
};

/// `Ecs.0111` (HTTP 400): The disk is not in the attachment list.
///
/// Solution (from the appendix): Check whether the selected disk has been attached to the ECS,
/// or replace the disk.
pub const ECS_0111: ErrorCode = ErrorCode {
    code: "Ecs.0111",
    status: 400,
    message:
        "The EVS disk has been detached from the ECS. Refresh the disk list and check the disk.",
};

/// `Ecs.0114` (HTTP 404): The ECS cannot be detected.
///
/// Solution (from the appendix): Check whether the ECS has been created.
pub const ECS_0114: ErrorCode = ErrorCode {
    code: "Ecs.0114",
    status: 404,
    message: "The ECS does not exist.",
};

/// `Ecs.0118` (HTTP 400): The number of tasks in a batch is greater than the upper limit.
///
/// Solution (from the appendix): Check the number of ECSs in the batch.
pub const ECS_0118: ErrorCode = ErrorCode {
    code: "Ecs.0118",
    status: 400,
    message: "The number of ECSs exceeds the maximum allowed limit.",
};

/// `Ecs.0121` (HTTP 400): Failed to attach the disk because the ECS and the disk are in
/// different failure domains.
///
/// Solution (from the appendix): Select a disk that is in the same failure domain as that of
/// the target ECS.
pub const ECS_0121: ErrorCode = ErrorCode {
    code: "Ecs.0121",
    status: 400,
    message: "The disk cannot be attached to the ECS because the disk and the ECS are in different failure domains.",
};

/// `Ecs.0201` (HTTP 400): Failed to create the NIC.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0201: ErrorCode = ErrorCode {
    code: "Ecs.0201",
    status: 400,
    message: "Failed to create the NIC. Try again later or contact customer service.",
};

/// `Ecs.0202` (HTTP 400): Failed to create the system disk.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0202: ErrorCode = ErrorCode {
    code: "Ecs.0202",
    status: 400,
    message: "Failed to create the system disk. Try again later or contact customer service.",
};

/// `Ecs.0203` (HTTP 400): Failed to create the data disk.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0203: ErrorCode = ErrorCode {
    code: "Ecs.0203",
    status: 400,
    message: "Failed to create the data disk. Try again later or contact customer service.",
};

/// `Ecs.0204` (HTTP 400): Failed to create the ECS.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0204: ErrorCode = ErrorCode {
    code: "Ecs.0204",
    status: 400,
    message: "Failed to create the ECS. Try again later or contact customer service.",
};

/// `Ecs.0205` (HTTP 400): Failed to attach the data disk.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0205: ErrorCode = ErrorCode {
    code: "Ecs.0205",
    status: 400,
    message: "Failed to attach the data disk. Try again later or contact customer service.",
};

/// `Ecs.0207` (HTTP 400): Failed to modify ECS specifications.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0207: ErrorCode = ErrorCode {
    code: "Ecs.0207",
    status: 400,
    message:
        "Failed to modify the ECS specifications. Try again later or contact customer service.",
};

/// `Ecs.0208` (HTTP 400): Failed to update the image metadata.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0208: ErrorCode = ErrorCode {
    code: "Ecs.0208",
    status: 400,
    message: "A system exception occurred. Try again later or contact customer service.",
};

/// `Ecs.0209` (HTTP 400): Failed to confirm the ECS specifications modification.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0209: ErrorCode = ErrorCode {
    code: "Ecs.0209",
    status: 400,
    message: "Failed to modify the ECS specifications. Try again or contact customer service.",
};

/// `Ecs.0210` (HTTP 400): Failed to assign the floating IP address.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0210: ErrorCode = ErrorCode {
    code: "Ecs.0210",
    status: 400,
    message: "A system exception occurred. Try again later or contact customer service.",
};

/// `Ecs.0211` (HTTP 400): Failed to create the NIC QoS.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0211: ErrorCode = ErrorCode {
    code: "Ecs.0211",
    status: 400,
    message: "Failed to create the NIC. Try again later or contact customer service.",
};

/// `Ecs.0212` (HTTP 400): Failed to allocate the private IP address.
///
/// Solution (from the appendix): For details, contact technical support.
pub const ECS_0212: ErrorCode = ErrorCode {
    code: "Ecs.0212",
    status: 400,
    message:
        "Failed to assign the private IP address. Try again later or contact customer service.",
};

/// `Ecs.0213` (HTTP 400): Failed to update the port attributes.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0213: ErrorCode = ErrorCode {
    code: "Ecs.0213",
    status: 400,
    message: "Failed to update the port attributes. Try again later or contact customer service.",
};

/// `Ecs.0214` (HTTP 400): Failed to create the network.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0214: ErrorCode = ErrorCode {
    code: "Ecs.0214",
    status: 400,
    message: "Failed to create the network. Try again later or contact customer service.",
};

/// `Ecs.0216` (HTTP 400): Failed to create the subnet.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0216: ErrorCode = ErrorCode {
    code: "Ecs.0216",
    status: 400,
    message: "Failed to create the subnet. Try again later or contact customer service.",
};

/// `Ecs.0217` (HTTP 400): Failed to attach the NIC.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0217: ErrorCode = ErrorCode {
    code: "Ecs.0217",
    status: 400,
    message: "Failed to attach the NIC. Try again later or contact customer service.",
};

/// `Ecs.0219` (HTTP 400): Failed to create the ECS.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0219: ErrorCode = ErrorCode {
    code: "Ecs.0219",
    status: 400,
    message: "Failed to create the ECS. Try again later or contact customer service.",
};

/// `Ecs.0221` (HTTP 400): Failed to migrate the ECS.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0221: ErrorCode = ErrorCode {
    code: "Ecs.0221",
    status: 400,
    message: "Cold migration from a dedicated host to the same dedicated host is not supported.",
};

/// `Ecs.0226` (HTTP 400): Failed to start the ECS.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0226: ErrorCode = ErrorCode {
    code: "Ecs.0226",
    status: 400,
    message: "Failed to start.",
};

/// `Ecs.0227` (HTTP 400): Failed to restart the ECS.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0227: ErrorCode = ErrorCode {
    code: "Ecs.0227",
    status: 400,
    message: "Failed to reboot.",
};

/// `Ecs.0301` (HTTP 400): Failed to query the ECS.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0301: ErrorCode = ErrorCode {
    code: "Ecs.0301",
    status: 400,
    message: "Failed to query the ECS. Try again later or contact customer service.",
};

/// `Ecs.0302` (HTTP 400): Failed to query the ECS quota of the tenant.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0302: ErrorCode = ErrorCode {
    code: "Ecs.0302",
    status: 400,
    message:
        "Failed to query the ECS quota of the tenant. Try again later or contact customer service.",
};

/// `Ecs.0303` (HTTP 400): Failed to query the flavor.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0303: ErrorCode = ErrorCode {
    code: "Ecs.0303",
    status: 400,
    message: "Failed to query the ECS specifications. Try again later or contact customer service.",
};

/// `Ecs.0304` (HTTP 400): Failed to query the image.
///
/// Solution (from the appendix): Contact technical support to check whether the image has been
/// correctly registered or to check other causes.
pub const ECS_0304: ErrorCode = ErrorCode {
    code: "Ecs.0304",
    status: 400,
    message: "Failed to query the image. Try again later or contact customer service.",
};

/// `Ecs.0306` (HTTP 400): Failed to query the backup.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0306: ErrorCode = ErrorCode {
    code: "Ecs.0306",
    status: 400,
    message: "Failed to query the backup. Try again later or contact customer service.",
};

/// `Ecs.0307` (HTTP 400): Failed to query the port.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0307: ErrorCode = ErrorCode {
    code: "Ecs.0307",
    status: 400,
    message: "Failed to query the port. Try again later or contact customer service.",
};

/// `Ecs.0308` (HTTP 400): Failed to query the ECS quota of the tenant.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0308: ErrorCode = ErrorCode {
    code: "Ecs.0308",
    status: 400,
    message:
        "Failed to query the ECS quota of the tenant. Try again later or contact customer service.",
};

/// `Ecs.0309` (HTTP 400): Failed to query the NIC QoS.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0309: ErrorCode = ErrorCode {
    code: "Ecs.0309",
    status: 400,
    message: "Failed to create the NIC. Try again later or contact customer service.",
};

/// `Ecs.0310` (HTTP 400): Failed to view the network information.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0310: ErrorCode = ErrorCode {
    code: "Ecs.0310",
    status: 400,
    message: "A system exception occurred. Try again later or contact customer service.",
};

/// `Ecs.0311` (HTTP 400): Failed to query the disk type.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0311: ErrorCode = ErrorCode {
    code: "Ecs.0311",
    status: 400,
    message: "Failed to obtain the disk type. Try again later or contact customer service.",
};

/// `Ecs.0313` (HTTP 400): Failed to query the ECS group.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0313: ErrorCode = ErrorCode {
    code: "Ecs.0313",
    status: 400,
    message: "ECS group query failed.",
};

/// `Ecs.0314` (HTTP 400): Failed to obtain the key pair.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0314: ErrorCode = ErrorCode {
    code: "Ecs.0314",
    status: 400,
    message: "The key pair does not exist. Refresh the key pair list and check the key pair.",
};

/// `Ecs.0315` (HTTP 400): Failed to obtain the automatic recovery status.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0315: ErrorCode = ErrorCode {
    code: "Ecs.0315",
    status: 400,
    message: "Failed to call the nova API to query the auto recovery status.",
};

/// `Ecs.0319` (HTTP 400): Insufficient flavor capacity.
///
/// Solution (from the appendix): Apply for expanding the flavor capacity.
pub const ECS_0319: ErrorCode = ErrorCode {
    code: "Ecs.0319",
    status: 400,
    message: "Insufficient resources for this flavor. Try another flavor.",
};

/// `Ecs.0320` (HTTP 400): Failed to obtain AZs.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0320: ErrorCode = ErrorCode {
    code: "Ecs.0320",
    status: 400,
    message: "AZ query failed.",
};

/// `Ecs.0321` (HTTP 400): Failed to query ECS console logs.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0321: ErrorCode = ErrorCode {
    code: "Ecs.0321",
    status: 400,
    message: "Console logs query failed.",
};

/// `Ecs.0322` (HTTP 400): Failed to query details of the subnet.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0322: ErrorCode = ErrorCode {
    code: "Ecs.0322",
    status: 400,
    message: "Subnet query failed.",
};

/// `Ecs.0323` (HTTP 400): Failed to query the NIC attachment to an ECS.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0323: ErrorCode = ErrorCode {
    code: "Ecs.0323",
    status: 400,
    message: "Failed to query the NIC attached to the ECS.",
};

/// `Ecs.0401` (HTTP 400): Failed to undo the operation performed on the port.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0401: ErrorCode = ErrorCode {
    code: "Ecs.0401",
    status: 400,
    message: "Failed to release the port. Try again later or contact customer service.",
};

/// `Ecs.0402` (HTTP 400): Failed to undo the operation performed on the system disk.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0402: ErrorCode = ErrorCode {
    code: "Ecs.0402",
    status: 400,
    message: "Failed to release the system disk. Try again later or contact customer service.",
};

/// `Ecs.0403` (HTTP 400): Failed to undo the operation performed on the ECS.
///
/// Solution (from the appendix): Contact technical support to locate the fault.
pub const ECS_0403: ErrorCode = ErrorCode {
    code: "Ecs.0403",
    status: 400,
    message: "Failed to release the ECS. Try again later or contact customer service.",
};

/// `Ecs.0405` (HTTP 400): Failed to undo the operation performed on the data disk.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0405: ErrorCode = ErrorCode {
    code: "Ecs.0405",
    status: 400,
    message: "Failed to release the data disk. Try again later or contact customer service.",
};

/// `Ecs.0501` (HTTP 400): Failed to delete the ECS.
///
/// Solution (from the appendix): Try again later.
pub const ECS_0501: ErrorCode = ErrorCode {
    code: "Ecs.0501",
    status: 400,
    message: "Failed to delete the ECS. Try again later or contact customer service.",
};

/// `Ecs.0502` (HTTP 400): Failed to delete the private IP address.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0502: ErrorCode = ErrorCode {
    code: "Ecs.0502",
    status: 400,
    message:
        "Failed to delete the private IP address. Try again later or contact customer service.",
};

/// `Ecs.0503` (HTTP 400): Failed to query the system disk.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0503: ErrorCode = ErrorCode {
    code: "Ecs.0503",
    status: 400,
    message: "Failed to obtain the system disk. Try again later or contact customer service.",
};

/// `Ecs.0507` (HTTP 400): Failed to delete the NIC.
///
/// Solution (from the appendix): Check the NIC type.
pub const ECS_0507: ErrorCode = ErrorCode {
    code: "Ecs.0507",
    status: 400,
    message: "Failed to delete the NIC. Try again later or contact customer service.",
};

/// `Ecs.0603` (HTTP 501): Other commands are being executed. Try again 1 minute later.
///
/// Solution (from the appendix): Try again 1 minute later.
// HTTP 501 is what the appendix says (odd for "busy, retry later", but kept).
pub const ECS_0603: ErrorCode = ErrorCode {
    code: "Ecs.0603",
    status: 501,
    message: "The commands are being executed. Try again later.",
};

/// `Ecs.0605` (HTTP 400): The ECS is locked.
///
/// Solution (from the appendix): Check whether the ECS is locked. If so, unlock it.
pub const ECS_0605: ErrorCode = ErrorCode {
    code: "Ecs.0605",
    status: 400,
    message: "ECS locked.",
};

/// `Ecs.0611` (HTTP 400): Request for batch operations failed.
///
/// Solution (from the appendix): Rectify the fault based on the returned error information and
/// submit the request again.
pub const ECS_0611: ErrorCode = ErrorCode {
    code: "Ecs.0611",
    status: 400,
    message: "Batch operation failed.",
};

/// `Ecs.0614` (HTTP 404): The ECS cannot be detected.
///
/// Solution (from the appendix): Check whether the ECS exists.
pub const ECS_0614: ErrorCode = ErrorCode {
    code: "Ecs.0614",
    status: 404,
    message: "The ECS does not exist.",
};

/// `Ecs.0615` (HTTP 500): An error has occurred in the request from an ECS.
///
/// Solution (from the appendix): An internal system error occurred. Contact technical support
/// to locate the fault.
pub const ECS_0615: ErrorCode = ErrorCode {
    code: "Ecs.0615",
    status: 500,
    message: "The thread list is empty.",
};

/// `Ecs.0616` (HTTP 400): Failed to modify the ECS.
///
/// Solution (from the appendix): Try again later or contact technical support.
pub const ECS_0616: ErrorCode = ErrorCode {
    code: "Ecs.0616",
    status: 400,
    message: "Failed to update the ECS name.",
};

/// `Ecs.0617` (HTTP 400): Failed to modify the attributes of the disk attached to an ECS.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0617: ErrorCode = ErrorCode {
    code: "Ecs.0617",
    status: 400,
    message: "Failed to modify attribute. Please try again later or contact customer service.",
};

/// `Ecs.0618` (HTTP 400): Failed to change the IP address of the ECS NIC.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_0618: ErrorCode = ErrorCode {
    code: "Ecs.0618",
    status: 400,
    message: "Failed to change the IP address of the ECS NIC.",
};

/// `Ecs.0707` (HTTP 400): The product does not exist.
///
/// Solution (from the appendix): Contact technical support to locate the fault.
pub const ECS_0707: ErrorCode = ErrorCode {
    code: "Ecs.0707",
    status: 400,
    message: "The product has not been registered.",
};

/// `Ecs.0810` (HTTP 400): The target specifications are the same as the current ECS
/// specifications.
///
/// Solution (from the appendix): Switch to another flavor.
pub const ECS_0810: ErrorCode = ErrorCode {
    code: "Ecs.0810",
    status: 400,
    message: "The ECS flavor is the same as the target flavor.",
};

/// `Ecs.0905` (HTTP 400): The number of tags exceeds the maximum number allowed.
///
/// Solution (from the appendix): Decrease the number of tags.
pub const ECS_0905: ErrorCode = ErrorCode {
    code: "Ecs.0905",
    status: 400,
    message: "The number of tags exceeds the maximum allowed limit.",
};

/// `Ecs.0906` (HTTP 400): Invalid tag attribute.
///
/// Solution (from the appendix): Create a tag again.
pub const ECS_0906: ErrorCode = ErrorCode {
    code: "Ecs.0906",
    status: 400,
    message: "Failed to comply with tag character set specifications.",
};

/// `Ecs.0907` (HTTP 400): Invalid tag character set.
///
/// Solution (from the appendix): Create a tag again.
pub const ECS_0907: ErrorCode = ErrorCode {
    code: "Ecs.0907",
    status: 400,
    message: "Invalid tag character set.",
};

/// `Ecs.0908` (HTTP 400): Duplicate tag key.
///
/// Solution (from the appendix): Create a tag again.
pub const ECS_0908: ErrorCode = ErrorCode {
    code: "Ecs.0908",
    status: 400,
    message: "The tag key cannot be duplicate.",
};

/// `Ecs.0909` (HTTP 400): The flavor does not support the disk type.
///
/// Solution (from the appendix): Change the flavor or disk type.
pub const ECS_0909: ErrorCode = ErrorCode {
    code: "Ecs.0909",
    status: 400,
    message: "The flavor does not support the disk type.",
};

/// `Ecs.0911` (HTTP 400): Invalid dedicated storage type of the disk.
///
/// Solution (from the appendix): Modify parameter settings for the dedicated storage type.
pub const ECS_0911: ErrorCode = ErrorCode {
    code: "Ecs.0911",
    status: 400,
    message: "Invalid dedicated storage type of the disk.",
};

/// `Ecs.0912` (HTTP 400): Invalid disk encryption attribute.
///
/// Solution (from the appendix): Modify parameter settings for the disk encryption attribute.
pub const ECS_0912: ErrorCode = ErrorCode {
    code: "Ecs.0912",
    status: 400,
    message: "Invalid disk encryption key.",
};

/// `Ecs.0913` (HTTP 400): The number of ECSs to be created exceeds the maximum allowed limit.
///
/// Solution (from the appendix): Decrease the number of ECSs to be created.
// The appendix's message has no final full stop; kept verbatim.
pub const ECS_0913: ErrorCode = ErrorCode {
    code: "Ecs.0913",
    status: 400,
    message: "The number of ECSs to be created exceeds the maximum allowed limit",
};

/// `Ecs.0914` (HTTP 400): The length of the ECS name exceeds the maximum allowed limit.
///
/// Solution (from the appendix): Change the ECS name.
pub const ECS_0914: ErrorCode = ErrorCode {
    code: "Ecs.0914",
    status: 400,
    message: "The length of the ECS name exceeds the maximum allowed limit.",
};

/// `Ecs.0915` (HTTP 400): The ECS name contains invalid characters.
///
/// Appendix Error Message (a slip, not used): "The length of the ECS name exceeds the maximum
/// allowed limit."
///
/// Solution (from the appendix): Change the ECS name.
// The appendix gives this code the same Error Message as Ecs.0914 ("The length of the
// ECS name exceeds the maximum allowed limit."), while its Description says "The ECS
// name contains invalid characters.". That is a copy-and-paste slip in the reference
// (ASYNC-OPERATIONS.md §6 row 28), so the message here follows the Description.
pub const ECS_0915: ErrorCode = ErrorCode {
    code: "Ecs.0915",
    status: 400,
    message: "The ECS name contains invalid characters.",
};

/// `Ecs.0919` (HTTP 400): The port does not allow attaching.
///
/// Solution (from the appendix): Change the port.
pub const ECS_0919: ErrorCode = ErrorCode {
    code: "Ecs.0919",
    status: 400,
    message: "The NIC has been attached to another instance.",
};

/// `Ecs.1000` (HTTP 400): Failed to call the Nova API.
///
/// Solution (from the appendix): Internal calling error. Try again later or contact technical
/// support.
pub const ECS_1000: ErrorCode = ErrorCode {
    code: "Ecs.1000",
    status: 400,
    message: "A system exception occurred. Try again later or contact customer service.",
};

/// `Ecs.1001` (HTTP 400): OpenStack access error.
///
/// Solution (from the appendix): The ECS is abnormal due to an OpenStack exception. Contact
/// technical support.
pub const ECS_1001: ErrorCode = ErrorCode {
    code: "Ecs.1001",
    status: 400,
    message: "A system exception occurred. Try again later or contact customer service.",
};

/// `Ecs.1002` (HTTP 400): OpenStack access timed out.
///
/// Solution (from the appendix): If you are switching a VPC, attaching or detaching a NIC or
/// disk, or changing or reinstalling an OS, stop the process first and try again. If the retry
/// timed out, contact technical support.
pub const ECS_1002: ErrorCode = ErrorCode {
    code: "Ecs.1002",
    status: 400,
    message: "A system exception occurred. Try again later or contact customer service.",
};

/// `Ecs.1100` (HTTP 400): Failed to access IAM.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_1100: ErrorCode = ErrorCode {
    code: "Ecs.1100",
    status: 400,
    message: "A system exception occurred. Try again later or contact customer service.",
};

/// `Ecs.1200` (HTTP 400): Failed to access the VPC.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_1200: ErrorCode = ErrorCode {
    code: "Ecs.1200",
    status: 400,
    message: "A system exception occurred. Try again later or contact customer service.",
};

/// `Ecs.1201` (HTTP 400): VPC access timed out.
///
/// Solution (from the appendix): The task timed out. For details, contact technical support.
pub const ECS_1201: ErrorCode = ErrorCode {
    code: "Ecs.1201",
    status: 400,
    message: "A system exception occurred. Try again later or contact customer service.",
};

/// `Ecs.1300` (HTTP 400): EVS access timed out.
///
/// Solution (from the appendix): For details, see the returned error message or contact
/// technical support.
pub const ECS_1300: ErrorCode = ErrorCode {
    code: "Ecs.1300",
    status: 400,
    message: "A system exception occurred. Try again later or contact customer service.",
};

/// `Pdp.0001` (HTTP 403): API authentication failed.
///
/// Solution (from the appendix): Add permissions on IAM. For details, see API permissions.
///
/// The message contains a `%s` placeholder; see [`ErrorCode::render`].
pub const PDP_0001: ErrorCode = ErrorCode {
    code: "Pdp.0001",
    status: 403,
    message: "Policy does not allow %s to be performed.",
};

/// `Common.0024` (HTTP 202): Limited by traffic control.
///
/// Solution (from the appendix): The number of concurrent requests has exceeded the upper
/// limit. Try again later.
// HTTP 202 is what the appendix says, and it is kept so the catalogue matches the
// reference. ecsd never emits this code: an error carried by a 2xx status would
// look like success to clients. ecsd throttles with 429 Common.1503 instead
// (ASYNC-OPERATIONS.md §6 row 8).
pub const COMMON_0024: ErrorCode = ErrorCode {
    code: "Common.0024",
    status: 202,
    message: "Flow limit exceeded.",
};

/// `Common.0002` (HTTP 400): Empty request body.
///
/// Solution (from the appendix): Check the request body.
pub const COMMON_0002: ErrorCode = ErrorCode {
    code: "Common.0002",
    status: 400,
    message: "The request body cannot be left blank.",
};

/// `Common.0011` (HTTP 400): Invalid job ID.
///
/// Solution (from the appendix): Check whether the source of the job ID is correct.
pub const COMMON_0011: ErrorCode = ErrorCode {
    code: "Common.0011",
    status: 400,
    message: "Failed to query system tasks.",
};

/// `Common.0018` (HTTP 400): Invalid token, or the project ID in the token is different from
/// that in the URL.
///
/// Solution (from the appendix): Check whether the tenant token is correct.
pub const COMMON_0018: ErrorCode = ErrorCode {
    code: "Common.0018",
    status: 400,
    message: "The project ID in the URL is different from that in the token.",
};

/// `Common.0020` (HTTP 400): Failed to retry the task.
///
/// Solution (from the appendix): Contact technical support.
pub const COMMON_0020: ErrorCode = ErrorCode {
    code: "Common.0020",
    status: 400,
    message: "A system exception occurred. Try again later or contact customer service.",
};

/// `Common.0021` (HTTP 400): An error has occurred in job query.
///
/// Solution (from the appendix): Try again later or contact technical support.
pub const COMMON_0021: ErrorCode = ErrorCode {
    code: "Common.0021",
    status: 400,
    message: "Subjob fails.",
};

/// `Common.0022` (HTTP 400): An error has occurred in job submission.
///
/// Solution (from the appendix): Contact technical support.
pub const COMMON_0022: ErrorCode = ErrorCode {
    code: "Common.0022",
    status: 400,
    message: "Mission fails.",
};

/// `Common.0999` (HTTP 400): Task terminated.
///
/// Solution (from the appendix): Contact technical support.
pub const COMMON_0999: ErrorCode = ErrorCode {
    code: "Common.0999",
    status: 400,
    message: "The system was broken, exit.",
};

/// `Common.0025` (HTTP 400): An error has occurred in job query.
///
/// Solution (from the appendix): Try again later or contact technical support.
///
/// The message contains a `%s` placeholder; see [`ErrorCode::render`].
pub const COMMON_0025: ErrorCode = ErrorCode {
    code: "Common.0025",
    status: 400,
    message: "Query job Error because %s.",
};

/// `Common.0026` (HTTP 400): An error occurred in AZ query.
///
/// Solution (from the appendix): Try again later or contact technical support.
// The appendix's message has no final full stop; kept verbatim.
pub const COMMON_0026: ErrorCode = ErrorCode {
    code: "Common.0026",
    status: 400,
    message: "Fail to get Region Info",
};

/// `Common.0013` (HTTP 401): Invalid token.
///
/// Solution (from the appendix): Check whether the tenant token is correct.
pub const COMMON_0013: ErrorCode = ErrorCode {
    code: "Common.0013",
    status: 401,
    message: "Invalid token.",
};

/// `Common.0001` (HTTP 500): A system exception occurred.
///
/// Solution (from the appendix): Contact technical support.
pub const COMMON_0001: ErrorCode = ErrorCode {
    code: "Common.0001",
    status: 500,
    message: "A system exception occurred. Try again later or contact customer service.",
};

/// `Common.1503` (HTTP 429): Limited by API traffic control.
///
/// Solution (from the appendix): Too many APIs are being executed. Try again later.
///
/// The message contains a `%s` placeholder; see [`ErrorCode::render`].
pub const COMMON_1503: ErrorCode = ErrorCode {
    code: "Common.1503",
    status: 429,
    message: "Api flow control Error because %s.",
};

/// Every code of the reference's appendix (155), in the appendix's order.
pub static CATALOGUE: &[ErrorCode] = &[
    ECS_0000,
    ECS_0001,
    ECS_0002,
    ECS_0003,
    ECS_0004,
    ECS_0005,
    ECS_0007,
    ECS_0008,
    ECS_0009,
    ECS_0010,
    ECS_0011,
    ECS_0012,
    ECS_0013,
    ECS_0014,
    ECS_0015,
    ECS_0017,
    ECS_0021,
    ECS_0022,
    ECS_0023,
    ECS_0025,
    ECS_0029,
    ECS_0030,
    ECS_0031,
    ECS_0032,
    ECS_0034,
    ECS_0036,
    ECS_0037,
    ECS_0038,
    ECS_0039,
    ECS_0041,
    ECS_0042,
    ECS_0043,
    ECS_0044,
    ECS_0045,
    ECS_0046,
    ECS_0048,
    ECS_0050,
    ECS_0051,
    ECS_0052,
    ECS_0053,
    ECS_0057,
    ECS_0058,
    ECS_0062,
    ECS_0064,
    ECS_0066,
    ECS_0067,
    ECS_0068,
    ECS_0069,
    ECS_0070,
    ECS_0071,
    ECS_0073,
    ECS_0074,
    ECS_0075,
    ECS_0085,
    ECS_0086,
    ECS_0090,
    ECS_0100,
    ECS_0101,
    ECS_0102,
    ECS_0103,
    ECS_0104,
    ECS_0105,
    ECS_0106,
    ECS_0110,
    ECS_0111,
    ECS_0114,
    ECS_0118,
    ECS_0121,
    ECS_0201,
    ECS_0202,
    ECS_0203,
    ECS_0204,
    ECS_0205,
    ECS_0207,
    ECS_0208,
    ECS_0209,
    ECS_0210,
    ECS_0211,
    ECS_0212,
    ECS_0213,
    ECS_0214,
    ECS_0216,
    ECS_0217,
    ECS_0219,
    ECS_0221,
    ECS_0226,
    ECS_0227,
    ECS_0301,
    ECS_0302,
    ECS_0303,
    ECS_0304,
    ECS_0306,
    ECS_0307,
    ECS_0308,
    ECS_0309,
    ECS_0310,
    ECS_0311,
    ECS_0313,
    ECS_0314,
    ECS_0315,
    ECS_0319,
    ECS_0320,
    ECS_0321,
    ECS_0322,
    ECS_0323,
    ECS_0401,
    ECS_0402,
    ECS_0403,
    ECS_0405,
    ECS_0501,
    ECS_0502,
    ECS_0503,
    ECS_0507,
    ECS_0603,
    ECS_0605,
    ECS_0611,
    ECS_0614,
    ECS_0615,
    ECS_0616,
    ECS_0617,
    ECS_0618,
    ECS_0707,
    ECS_0810,
    ECS_0905,
    ECS_0906,
    ECS_0907,
    ECS_0908,
    ECS_0909,
    ECS_0911,
    ECS_0912,
    ECS_0913,
    ECS_0914,
    ECS_0915,
    ECS_0919,
    ECS_1000,
    ECS_1001,
    ECS_1002,
    ECS_1100,
    ECS_1200,
    ECS_1201,
    ECS_1300,
    PDP_0001,
    COMMON_0024,
    COMMON_0002,
    COMMON_0011,
    COMMON_0018,
    COMMON_0020,
    COMMON_0021,
    COMMON_0022,
    COMMON_0999,
    COMMON_0025,
    COMMON_0026,
    COMMON_0013,
    COMMON_0001,
    COMMON_1503,
];

// ---------------------------------------------------------------------------------------------
// ecsd's own codes, for HTTP-level failures the reference has no code for. They are not part
// of the reference, hence the `Ecsd.` prefix; the number is the HTTP status.
// ---------------------------------------------------------------------------------------------

/// The request body is larger than ecsd accepts.
pub const ECSD_BODY_TOO_LARGE: ErrorCode = ErrorCode {
    code: "Ecsd.0413",
    status: 413,
    message: "The request body is too large.",
};

/// The request body is not JSON (wrong or missing `Content-Type`).
pub const ECSD_UNSUPPORTED_MEDIA_TYPE: ErrorCode = ErrorCode {
    code: "Ecsd.0415",
    status: 415,
    message: "Unsupported media type. The request body must be JSON (application/json).",
};

/// The request's headers are larger than ecsd accepts.
pub const ECSD_HEADERS_TOO_LARGE: ErrorCode = ErrorCode {
    code: "Ecsd.0431",
    status: 431,
    message: "The request headers are too large.",
};

/// The request body did not arrive within the body-read timeout (`--body-read-timeout`).
pub const ECSD_BODY_TIMEOUT: ErrorCode = ErrorCode {
    code: "Ecsd.0408",
    status: 408,
    message: "The request body did not arrive in time.",
};

/// ecsd could not complete the request in time: the whole request ran past `--request-timeout`,
/// or one database read past `--query-timeout` (too expensive a query for the data, or every
/// reader busy). 503, not 500 or 504: nothing is broken and no gateway is involved; a later
/// retry, or a narrower query, succeeds. The message says which deadline passed.
pub const ECSD_REQUEST_TIMEOUT: ErrorCode = ErrorCode {
    code: "Ecsd.0503",
    status: 503,
    message: "The request could not be completed in time.",
};

/// An admin API request (`/_ecsd/`) is invalid: an unknown or malformed field, a value out of
/// range (a probability above 1, a clock moved backwards, a snapshot name with `/`); the
/// message names the field. Tenant routes use the reference's codes (`Ecs.0005`, …) instead.
pub const ECSD_BAD_REQUEST: ErrorCode = ErrorCode {
    code: "Ecsd.0400",
    status: 400,
    message: "The admin request is invalid.",
};

/// The admin API needs the admin token (`--admin-token`), and it was missing or wrong.
pub const ECSD_UNAUTHORIZED: ErrorCode = ErrorCode {
    code: "Ecsd.0401",
    status: 401,
    message: "The admin token is missing or wrong.",
};

/// The admin API refused the caller: a tenant's credentials, or a caller off loopback while no
/// admin token is configured.
pub const ECSD_FORBIDDEN: ErrorCode = ErrorCode {
    code: "Ecsd.0403",
    status: 403,
    message: "The admin API refused this caller.",
};

/// An admin resource (a fault rule, a snapshot, a stuck job) does not exist.
pub const ECSD_NOT_FOUND: ErrorCode = ErrorCode {
    code: "Ecsd.0404",
    status: 404,
    message: "The admin resource does not exist.",
};

/// An admin request conflicts with the current state (e.g. a snapshot name already taken).
pub const ECSD_CONFLICT: ErrorCode = ErrorCode {
    code: "Ecsd.0409",
    status: 409,
    message: "The admin request conflicts with the current state.",
};

/// Too many wrong admin tokens from one address: it must wait (`Retry-After`) before its next
/// token is compared ([`crate::admin::guesses`]).
pub const ECSD_TOO_MANY_GUESSES: ErrorCode = ErrorCode {
    code: "Ecsd.0429",
    status: 429,
    message: "Too many wrong admin tokens from this address.",
};

/// ecsd's own codes (prefix `Ecsd.`), kept apart from the reference's [`CATALOGUE`].
pub static ECSD_CODES: &[ErrorCode] = &[
    ECSD_BAD_REQUEST,
    ECSD_UNAUTHORIZED,
    ECSD_FORBIDDEN,
    ECSD_NOT_FOUND,
    ECSD_CONFLICT,
    ECSD_TOO_MANY_GUESSES,
    ECSD_BODY_TOO_LARGE,
    ECSD_UNSUPPORTED_MEDIA_TYPE,
    ECSD_HEADERS_TOO_LARGE,
    ECSD_BODY_TIMEOUT,
    ECSD_REQUEST_TIMEOUT,
];

// ---------------------------------------------------------------------------------------------
// The API gateway's codes. On the real cloud, what the API gateway in front of ECS refuses never
// reaches ECS and comes back in the gateway's own flat shape,
// `{"error_code", "error_msg", "request_id"}`, not the ECS envelope: authentication, its rate
// limits, and unknown APIs. ecsd answers those the same way (`error::ApiError` renders any
// `APIGW.*` code flat); everything ECS itself decides keeps the envelope.
// ---------------------------------------------------------------------------------------------

/// Authentication failed: no credentials; a malformed, forged, outdated, revoked or expired
/// token; a malformed `Authorization`, an unknown access key or a signature that does not
/// match; a missing or stale `X-Sdk-Date`. The message says which check failed.
pub const APIGW_0301: ErrorCode = ErrorCode {
    code: "APIGW.0301",
    status: 401,
    message: "Incorrect IAM authentication information.",
};

/// The gateway's throttling: a key's rate limit, or a limit on token requests.
pub const APIGW_0308: ErrorCode = ErrorCode {
    code: "APIGW.0308",
    status: 429,
    message: "The throttling threshold has been reached.",
};

/// No API matches the method and path.
pub const APIGW_0101: ErrorCode = ErrorCode {
    code: "APIGW.0101",
    status: 404,
    message: "The API does not exist or has not been published in the environment.",
};

/// The gateway's codes ecsd uses, kept apart from the reference's [`CATALOGUE`].
pub static GATEWAY_CODES: &[ErrorCode] = &[APIGW_0301, APIGW_0308, APIGW_0101];

impl ErrorCode {
    /// Whether the API gateway answers this code (in its flat shape), not ECS.
    pub fn is_gateway(&self) -> bool {
        self.code.starts_with("APIGW.")
    }
}

/// Finds a code in [`CATALOGUE`], [`ECSD_CODES`] or [`GATEWAY_CODES`]. The match is exact (case-sensitive):
/// `"Ecs.0114"` is found, `"ecs.0114"` is not.
pub fn lookup(code: &str) -> Option<&'static ErrorCode> {
    CATALOGUE
        .iter()
        .chain(ECSD_CODES.iter())
        .chain(GATEWAY_CODES.iter())
        .find(|entry| entry.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    /// The appendix's error-code table as facts of the repository: code and HTTP status per
    /// row, in the appendix's order, extracted from `appendix/error_codes.rst` by
    /// `ECSD_UPDATE_REFERENCE=1 cargo test -p ecsd --test it reference_data`, which also fails
    /// when the file and the appendix differ (where the reference is present).
    const APPENDIX_FACTS: &str = include_str!("../../../tests/reference/error_codes.json");

    #[derive(serde::Deserialize)]
    struct AppendixRow {
        code: String,
        status: u16,
    }

    /// (code, HTTP status) for every row of the appendix, in order.
    fn parse_appendix() -> Vec<(String, u16)> {
        let rows: Vec<AppendixRow> = serde_json::from_str(APPENDIX_FACTS)
            .unwrap_or_else(|e| panic!("tests/reference/error_codes.json is not valid: {e}"));
        rows.into_iter().map(|row| (row.code, row.status)).collect()
    }

    #[test]
    fn catalogue_matches_the_appendix() {
        let appendix = parse_appendix();
        assert_eq!(appendix.len(), 155, "the appendix should list 155 codes");
        let expected: BTreeMap<String, u16> = appendix.iter().cloned().collect();
        assert_eq!(expected.len(), 155, "the appendix lists a code twice");

        assert_eq!(CATALOGUE.len(), 155);
        let actual: BTreeMap<String, u16> = CATALOGUE
            .iter()
            .map(|e| (e.code.to_string(), e.status))
            .collect();
        assert_eq!(
            actual.len(),
            CATALOGUE.len(),
            "CATALOGUE lists a code twice"
        );
        assert_eq!(actual, expected);

        // Same order as the appendix, too.
        let order: Vec<&str> = CATALOGUE.iter().map(|e| e.code).collect();
        let appendix_order: Vec<&str> = appendix.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(order, appendix_order);

        let count = |prefix: &str| {
            CATALOGUE
                .iter()
                .filter(|e| e.code.starts_with(prefix))
                .count()
        };
        assert_eq!(count("Ecs."), 141);
        assert_eq!(count("Common."), 13);
        assert_eq!(count("Pdp."), 1);
    }

    #[test]
    fn messages_are_clean() {
        for e in CATALOGUE.iter().chain(ECSD_CODES).chain(GATEWAY_CODES) {
            assert!(!e.message.is_empty(), "{} has no message", e.code);
            assert_eq!(e.message, e.message.trim(), "{}", e.code);
            assert!(!e.message.contains('\n'), "{}", e.code);
            assert!(!e.message.contains("  "), "{}", e.code);
            assert!(!e.message.contains("**"), "{}", e.code);
        }
        // The corrected slip.
        assert_ne!(ECS_0915.message, ECS_0914.message);
        assert!(ECS_0915.message.contains("invalid characters"));
    }

    #[test]
    fn codes_are_unique_across_both_lists() {
        let mut seen = BTreeSet::new();
        for e in CATALOGUE.iter().chain(ECSD_CODES).chain(GATEWAY_CODES) {
            assert!(seen.insert(e.code), "duplicate code {}", e.code);
        }
        assert_eq!(seen.len(), 155 + ECSD_CODES.len() + GATEWAY_CODES.len());
        assert!(ECSD_CODES.iter().all(|e| e.code.starts_with("Ecsd.")));
        assert!(CATALOGUE.iter().all(|e| !e.code.starts_with("Ecsd.")));
        for e in ECSD_CODES {
            assert_eq!(
                e.code,
                format!("Ecsd.0{}", e.status),
                "Ecsd number = HTTP status"
            );
        }
    }

    #[test]
    fn odd_statuses_are_kept() {
        assert_eq!(COMMON_0024.status, 202);
        assert_eq!(COMMON_1503.status, 429);
        assert_eq!(ECS_0603.status, 501);
        assert_eq!(ECS_0114.status, 404);
        assert_eq!(COMMON_0013.status, 401);
    }

    #[test]
    fn lookup_finds_known_codes_only() {
        assert_eq!(lookup("Ecs.0005"), Some(&ECS_0005));
        assert_eq!(lookup("Ecs.0114").map(|e| e.status), Some(404));
        assert_eq!(lookup("Common.1503"), Some(&COMMON_1503));
        assert_eq!(lookup("Pdp.0001"), Some(&PDP_0001));
        assert_eq!(lookup("Ecsd.0413"), Some(&ECSD_BODY_TOO_LARGE));
        assert_eq!(lookup("APIGW.0101").map(|e| e.status), Some(404));
        assert!(APIGW_0308.is_gateway() && !COMMON_1503.is_gateway());
        assert_eq!(lookup("Ecsd.0408").map(|e| e.status), Some(408));
        assert_eq!(lookup("Ecsd.0503").map(|e| e.status), Some(503));
        assert_eq!(lookup("APIGW.0301").map(|e| e.status), Some(401));
        assert_eq!(lookup("Ecsd.0500"), None, "internal errors use Common.0001");
        assert_eq!(lookup("Ecs.9999"), None);
        assert_eq!(lookup("ecs.0005"), None);
        assert_eq!(lookup(""), None);
    }

    #[test]
    fn render_fills_the_placeholder() {
        assert_eq!(
            PDP_0001.render("ecs:cloudServers:create"),
            "Policy does not allow ecs:cloudServers:create to be performed."
        );
        assert_eq!(
            COMMON_1503.render("too many requests"),
            "Api flow control Error because too many requests."
        );
        assert_eq!(ECS_0114.render("ignored"), ECS_0114.message);
    }
}
