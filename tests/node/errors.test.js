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

    it('8. what the API gateway answers: 429 APIGW.0308 over a key\'s rate, 404 APIGW.0101 for an API ecsd lacks', async () => {
        // The key of a second account allowed one request per second (scripts/node-e2e.sh).
        const throttled = makeClient({
            ak: process.env.ECSD_THROTTLED_ACCESS_KEY,
            sk: process.env.ECSD_THROTTLED_SECRET_KEY,
            projectId: process.env.ECSD_THROTTLED_PROJECT_ID,
        });
        let refusal;
        for (let attempt = 0; attempt < 20 && !refusal; attempt += 1) {
            try {
                await throttled.listServersDetails(new ecs.ListServersDetailsRequest().withLimit(1));
            } catch (err) {
                refusal = err;
            }
        }
        assert.ok(refusal, 'twenty requests in a row never met the limit of one per second');
        assert.equal(refusal.httpStatusCode, 429, refusal.errorMsg);
        assert.equal(refusal.errorCode, 'APIGW.0308', refusal.errorMsg);
        assert.match(refusal.errorMsg, /^The throttling threshold has been reached: policy user over ratelimit,limit:1,time:1 second/);
        assert.equal(typeof refusal.requestId, 'string');
        assert.equal(refusal.requestId.length, 32);

        // ShowServerPassword's v1 path is not in the reference: no route, the gateway's 404.
        const err = await assertClientError(
            () => makeClient().showServerPassword(new ecs.ShowServerPasswordRequest(crypto.randomUUID())),
            404, 'APIGW.0101');
        assert.match(err.errorMsg, /does not exist or has not been published/);
    });
});
