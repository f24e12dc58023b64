'use strict';
// Shared helpers for the ecsd end-to-end suite driven by the official Huawei Cloud
// Node.js SDK (@huaweicloud/huaweicloud-sdk-ecs, pinned in package.json / package-lock.json).
// Only the SDK's public API is used: EcsClient, BasicCredentials, the request/model classes
// and the SDK exceptions.
//
// Configuration comes from the environment (scripts/node-e2e.sh sets all of these):
//   ECSD_ENDPOINT      e.g. http://127.0.0.1:8080   (required, with scheme)
//   ECSD_ACCESS_KEY    AK of the local account
//   ECSD_SECRET_KEY    SK of the local account
//   ECSD_PROJECT_ID    project id of the local account
//   ECSD_JOB_TIMEOUT   seconds to wait for a job to finish (default 60)
//   ECSD_NODE_SDK_LOG  set to 1 to let the SDK print its own log to stderr (it logs every
//                      error response with the request's headers)

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const path = require('node:path');

const { BasicCredentials } = require('@huaweicloud/huaweicloud-sdk-core');
const { ClientRequestException } = require('@huaweicloud/huaweicloud-sdk-core/exception/ClientRequestException');
const { ServiceResponseException } = require('@huaweicloud/huaweicloud-sdk-core/exception/ServiceResponseException');
const ecs = require('@huaweicloud/huaweicloud-sdk-ecs');

// The SDK configures log4js at load time to print every error response (the whole axios
// config, Authorization header included) to stdout. Reconfigure the log4js instance the SDK
// itself loaded: silent by default, to stderr with ECSD_NODE_SDK_LOG=1.
const log4js = require(require.resolve('log4js', {
    paths: [path.dirname(require.resolve('@huaweicloud/huaweicloud-sdk-core'))],
}));
log4js.configure({
    appenders: { stderr: { type: 'stderr', layout: { type: 'basic' } } },
    categories: {
        default: { appenders: ['stderr'], level: process.env.ECSD_NODE_SDK_LOG === '1' ? 'debug' : 'off' },
    },
});

const DEFAULT_AK = 'ECSDLOCALACCESSKEY01';
const DEFAULT_SK = 'ecsdLocalSecretKey00000000000000000000001';
const DEFAULT_PROJECT = '0123456789abcdef0123456789abcdef';
const DEFAULT_FLAVOR = 's3.medium.1';

const JOB_ID_RE = /^[0-9a-f]{32}$/;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TERMINAL = ['SUCCESS', 'FAIL'];
const JOB_STATUSES = ['INIT', 'RUNNING', ...TERMINAL];

function config() {
    const endpoint = (process.env.ECSD_ENDPOINT || '').trim();
    assert.ok(endpoint, 'ECSD_ENDPOINT is not set (e.g. http://127.0.0.1:8080); '
        + 'run scripts/node-e2e.sh, which starts an ecsd and sets it');
    // Without a scheme the SDK would send https to a plain-http server.
    assert.match(endpoint, /^https?:\/\//, `ECSD_ENDPOINT must include the scheme: ${endpoint}`);
    return {
        endpoint,
        ak: process.env.ECSD_ACCESS_KEY || DEFAULT_AK,
        sk: process.env.ECSD_SECRET_KEY || DEFAULT_SK,
        projectId: process.env.ECSD_PROJECT_ID || DEFAULT_PROJECT,
        jobTimeoutMs: 1000 * Number(process.env.ECSD_JOB_TIMEOUT || 60),
    };
}

function makeClient({ ak, sk, projectId } = {}) {
    const cfg = config();
    const credentials = new BasicCredentials()
        .withAk(ak || cfg.ak)
        .withSk(sk || cfg.sk)
        .withProjectId(projectId || cfg.projectId);
    return ecs.EcsClient.newBuilder()
        .withCredential(credentials)
        .withEndpoint(cfg.endpoint)
        .build();
}

/** A name unique to this run: letters, digits and '-' only (ecsd's name rule). */
function uniqueName(label) {
    return `node-${crypto.randomBytes(4).toString('hex')}-${label}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls ShowJob until SUCCESS/FAIL or the deadline (ECSD_JOB_TIMEOUT); returns the
 * terminal job. The first ShowJob is sent at once.
 */
async function waitJob(client, jobId, { intervalMs = 200 } = {}) {
    const deadline = Date.now() + config().jobTimeoutMs;
    const seen = [];
    for (;;) {
        const job = await client.showJob(new ecs.ShowJobRequest(jobId));
        assert.equal(job.httpStatusCode, 200, `ShowJob ${jobId}`);
        assert.ok(JOB_STATUSES.includes(job.status), `job ${jobId} has unknown status ${job.status}`);
        if (seen[seen.length - 1] !== job.status) {
            seen.push(job.status);
        }
        if (TERMINAL.includes(job.status)) {
            return job;
        }
        if (Date.now() >= deadline) {
            assert.fail(`job ${jobId} did not finish in time; statuses seen: ${seen.join(' -> ')}; `
                + `last: ${JSON.stringify(job)}`);
        }
        await sleep(intervalMs);
    }
}

/** A terminal SUCCESS job of `jobType` with one `subJobType` sub-job per server in `serverIds`. */
function assertJobSucceeded(job, jobType, subJobType, serverIds) {
    assert.equal(job.status, 'SUCCESS', `job failed: ${JSON.stringify(job)}`);
    assert.match(job.job_id, JOB_ID_RE);
    assert.equal(job.job_type, jobType);
    assert.ok(job.entities, `job has no entities: ${JSON.stringify(job)}`);
    const subs = job.entities.sub_jobs;
    assert.ok(Array.isArray(subs), `entities.sub_jobs is not an array: ${JSON.stringify(job.entities)}`);
    assert.equal(subs.length, serverIds.length, JSON.stringify(job.entities));
    // The Node SDK hands over the JSON as sent (no model, no coercion): the total is a number.
    assert.strictEqual(job.entities.sub_jobs_total, serverIds.length);
    for (const sub of subs) {
        assert.equal(sub.job_type, subJobType, JSON.stringify(sub));
        assert.equal(sub.status, 'SUCCESS', JSON.stringify(sub));
        assert.match(sub.job_id, JOB_ID_RE);
        assert.notEqual(sub.job_id, job.job_id);
        assert.ok(sub.entities && sub.entities.server_id, `sub-job without server_id: ${JSON.stringify(sub)}`);
    }
    assert.deepEqual(subs.map((s) => s.entities.server_id).sort(), [...serverIds].sort());
}

/**
 * Runs `call` (an async function) and checks that it rejects with the SDK's
 * ClientRequestException carrying `status`, `code`, a message and a request id.
 * Returns the exception.
 */
async function assertClientError(call, status, code) {
    let caught;
    try {
        await call();
    } catch (err) {
        caught = err;
    }
    assert.ok(caught, `expected an error ${status} ${code}, but the call succeeded`);
    assert.ok(caught instanceof ClientRequestException,
        `expected ClientRequestException, got ${caught && caught.name}: ${caught && caught.message}`);
    assert.ok(caught instanceof ServiceResponseException);
    assert.equal(caught.name, 'ClientRequestException');
    assert.deepEqual(
        { httpStatusCode: caught.httpStatusCode, errorCode: caught.errorCode },
        { httpStatusCode: status, errorCode: code },
        `errorMsg: ${caught.errorMsg}`,
    );
    // errorMsg falls back to axios' "Request failed with status code N" when the body has none.
    assert.ok(caught.errorMsg && !/^Request failed with status code/.test(caught.errorMsg),
        `no error message from the body: ${caught.errorMsg}`);
    assert.equal(typeof caught.requestId, 'string', 'no X-Request-Id on the error response');
    assert.ok(caught.requestId.length > 0, 'empty X-Request-Id on the error response');
    return caught;
}

function serverRefs(ids) {
    return ids.map((id) => new ecs.ServerId(id));
}

module.exports = {
    ecs,
    DEFAULT_FLAVOR,
    JOB_ID_RE,
    UUID_RE,
    assertClientError,
    assertJobSucceeded,
    config,
    makeClient,
    serverRefs,
    uniqueName,
    waitJob,
};
