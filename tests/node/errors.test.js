'use strict';
// Error answers as the Node SDK sees them: the exception class, httpStatusCode, errorCode,
// errorMsg and requestId (the SDK reads error.code / error.message from the body and the
// X-Request-Id response header).

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { describe, it } = require('node:test');

const {
    ecs,
    DEFAULT_FLAVOR,
    assertClientError,
    config,
    makeClient,
    uniqueName,
} = require('./helpers');

describe('errors through the Node SDK', () => {
    it('6. ShowJob of an unknown job id is 400 Common.0011 with errorCode, errorMsg and requestId', async () => {
        const client = makeClient();
        const requestIds = new Set();
        // A well-formed id that was never issued, and a malformed one: the same answer.
        for (const jobId of [crypto.randomBytes(16).toString('hex'), 'not-a-job']) {
            const err = await assertClientError(
                () => client.showJob(new ecs.ShowJobRequest(jobId)), 400, 'Common.0011');
            requestIds.add(err.requestId);
        }
        assert.equal(requestIds.size, 2, `X-Request-Id is not unique per request: ${[...requestIds]}`);
    });

    it(
        '7. a wrong secret key is refused with 401 APIGW.0301, and a refused create creates nothing',
        async () => {
            const cfg = config();
            const wrongSk = cfg.sk.slice(0, -1) + (cfg.sk.endsWith('0') ? '1' : '0');
            const forged = makeClient({ sk: wrongSk });

            // A read.
            await assertClientError(
                () => forged.listServersDetails(new ecs.ListServersDetailsRequest().withLimit(1)),
                401, 'APIGW.0301');

            // A write: refused before anything is accepted.
            const name = uniqueName('forged');
            const server = new ecs.PrePaidServer(
                crypto.randomUUID(), DEFAULT_FLAVOR, name, crypto.randomUUID(),
                [new ecs.PrePaidServerNic().withSubnetId(crypto.randomUUID())],
                new ecs.PrePaidServerRootVolume('SSD'),
            );
            await assertClientError(
                () => forged.createServers(
                    new ecs.CreateServersRequest().withBody(new ecs.CreateServersRequestBody(server))),
                401, 'APIGW.0301');
            const listed = await makeClient().listServersDetails(
                new ecs.ListServersDetailsRequest().withName(name));
            assert.strictEqual(listed.count, 0, `a refused create left servers: ${JSON.stringify(listed)}`);
        },
    );
});
