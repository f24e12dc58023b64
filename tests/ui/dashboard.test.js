'use strict';
// The dashboard (/_ecsd/ui) in a real browser: Debian's Chromium driven by playwright-core
// (pinned in package.json / package-lock.json). scripts/ui-e2e.sh installs Chromium when
// missing, starts ecsd with an admin token and runs this file with `node --test`.
//
// Environment (set by scripts/ui-e2e.sh):
//   ECSD_ENDPOINT        e.g. http://127.0.0.1:41805
//   ECSD_BIN             the ecsd binary (its `ecsd call` signs the tenant requests)
//   ECSD_ADMIN_TOKEN     the admin token ecsd was started with
//   ECSD_UI_SCREENSHOTS  folder for the screenshots (created)
//   CHROMIUM             the browser (default /usr/bin/chromium)
//   ECSD_JOB_TIMEOUT     seconds a job may take to reach its end in the page (default 60)

const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { test } = require('node:test');
const { chromium } = require('playwright-core');

const endpoint = process.env.ECSD_ENDPOINT;
const bin = process.env.ECSD_BIN;
const adminToken = process.env.ECSD_ADMIN_TOKEN;
const shots = process.env.ECSD_UI_SCREENSHOTS;
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const jobTimeout = 1000 * Number(process.env.ECSD_JOB_TIMEOUT || 60);

// Without the networking flags Chromium's own background connections are refused by a closed
// network and slow it down; a fresh profile keeps runs independent.
const CHROMIUM_ARGS = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** `ecsd call METHOD PATH [BODY]` signed as the local account; the parsed JSON answer. */
function call(method, apiPath, body) {
    const args = ['call', method, apiPath, '--endpoint', endpoint];
    if (body !== undefined) args.push('--data', JSON.stringify(body));
    const out = execFileSync(bin, args, { encoding: 'utf8', timeout: 30_000 });
    return JSON.parse(out);
}

/** An admin API call with the bearer token (not through the browser). */
async function admin(method, apiPath, body) {
    const response = await fetch(endpoint + apiPath, {
        method,
        headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: await response.text() };
}

function createBody(name, count, flavor) {
    return {
        server: {
            imageRef: '1ce5800f-6fbc-4bb0-a0e5-0d7b5f4c4c4e', flavorRef: flavor, name, count,
            vpcid: '3b6a2f3e-6a0c-4c1d-9d7e-2f1b5f7b0a11',
            nics: [{ subnet_id: '5e0f2e8a-7c1f-4d8e-9f42-4b2d6e8b1c33' }],
            root_volume: { volumetype: 'SSD' },
        },
    };
}

test('the dashboard shows jobs live, their timelines and servers', async (t) => {
    for (const [name, value] of Object.entries({ endpoint, bin, adminToken, shots })) {
        assert.ok(value, `${name} is not set: run scripts/ui-e2e.sh`);
    }
    fs.mkdirSync(shots, { recursive: true });
    // Whatever flavor this build's catalogue sells first (the catalogue changes over time).
    const flavors = call('GET', '/v1/{project_id}/cloudservers/flavors').flavors;
    assert.ok(flavors.length > 0, 'ListFlavors lists flavors');
    const flavor = flavors[0].id;

    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ecsd-ui-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
        executablePath, headless: true, args: CHROMIUM_ARGS,
        viewport: { width: 1366, height: 768 },
    });
    t.after(async () => {
        await context.close();
        fs.rmSync(profile, { recursive: true, force: true });
    });
    const page = context.pages()[0] || await context.newPage();
    const consoleErrors = [];
    // Refused loads are expected here (the wrong login's 401, the control panels' 404 probes);
    // any other console error or uncaught exception is a defect of the pages.
    page.on('console', (message) => {
        if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
            consoleErrors.push(message.text());
        }
    });
    page.on('pageerror', (error) => consoleErrors.push(String(error)));

    // 1. Without a session the dashboard sends the browser to its login form.
    await page.goto(`${endpoint}/_ecsd/ui`);
    assert.equal(new URL(page.url()).pathname, '/_ecsd/ui/login', 'not logged in: the login form');
    await page.fill('input[name=token]', 'not-the-token');
    await page.click('button[type=submit]');
    await page.getByText('That is not the admin token.').waitFor();
    await page.fill('input[name=token]', adminToken);
    await page.click('button[type=submit]');
    await page.waitForURL(`${endpoint}/_ecsd/ui`);
    // The cookie is scoped to /_ecsd: ask for it with a URL under that path.
    const cookies = await context.cookies(`${endpoint}/_ecsd/ui`);
    const session = cookies.find((cookie) => cookie.name === 'ecsd_admin');
    assert.ok(session, 'the session cookie is set');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(session.path, '/_ecsd');

    // 2. Jobs appear and reach their end in the open page, without a reload.
    await page.locator('#live.on').waitFor({ timeout: 10_000 });
    await page.evaluate(() => { window.__sameDocument = true; });
    const created = call('POST', '/v1/{project_id}/cloudservers', createBody('web', 3, flavor));
    assert.match(created.job_id, /^[0-9a-f]{32}$/);
    const row = page.locator(`tr[data-job="${created.job_id}"]`);
    await row.waitFor({ timeout: 10_000 });
    await page.locator(`tr[data-job="${created.job_id}"][data-status="SUCCESS"]`).waitFor({ timeout: jobTimeout });
    assert.match(await row.innerText(), /createServer\s+SUCCESS\s+3\/3/);

    const stopped = call('POST', '/v1/{project_id}/cloudservers/action', {
        'os-stop': { servers: created.serverIds.slice(0, 2).map((id) => ({ id })) },
    });
    const deleted = call('POST', '/v1/{project_id}/cloudservers/delete', {
        servers: [{ id: created.serverIds[2] }],
    });
    for (const job of [stopped, deleted]) {
        await page.locator(`tr[data-job="${job.job_id}"][data-status="SUCCESS"]`).waitFor({ timeout: jobTimeout });
    }
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'updated live, never reloaded');

    // 3. A job that fails shows its code. Fault rules (issue 11, /_ecsd/faults) make one; on a
    // build without them this part is skipped.
    let failed = null;
    const faults = await admin('GET', '/_ecsd/faults');
    if (faults.status === 404) {
        t.diagnostic('SKIP failing job: this build has no /_ecsd/faults (fault rules); TODO(lead): check after merging issue 11');
    } else {
        const rule = await admin('POST', '/_ecsd/faults', {
            operation: 'createServer', times: 1, effect: 'fail', error_code: 'Ecs.0204',
            fail_reason: 'no capacity (ui-e2e)', sub_jobs: [1],
        });
        assert.equal(rule.status, 201, `fault rule added: ${rule.body}`);
        failed = call('POST', '/v1/{project_id}/cloudservers', createBody('db', 2, flavor));
        const failedRow = page.locator(`tr[data-job="${failed.job_id}"][data-status="FAIL"]`);
        await failedRow.waitFor({ timeout: jobTimeout });
        assert.match(await failedRow.innerText(), /Ecs\.0204/);
    }
    await page.screenshot({ path: path.join(shots, 'jobs.png'), fullPage: true });

    // 4. A job's page: one bar per sub-job, all successful, and the job query's JSON.
    await page.click(`a[href="/_ecsd/ui/jobs/${created.job_id}"]`);
    await page.waitForURL(`${endpoint}/_ecsd/ui/jobs/${created.job_id}`);
    assert.equal(await page.locator('svg.timeline g.subjob').count(), 3, 'three sub-jobs drawn');
    assert.equal(await page.locator('svg.timeline g.subjob[data-status="SUCCESS"] rect.bar.ok').count(), 3);
    assert.match(await page.locator('pre.json').innerText(), /"sub_jobs_total": 3/);
    await page.screenshot({ path: path.join(shots, 'job.png'), fullPage: true });

    if (failed) {
        await page.goto(`${endpoint}/_ecsd/ui/jobs/${failed.job_id}`);
        assert.equal(await page.locator('svg.timeline rect.bar.fail').count(), 1, 'one failed sub-job');
        assert.equal(await page.locator('svg.timeline rect.bar.ok').count(), 1, 'one successful sub-job');
        assert.match(await page.locator('table.failures').innerText(), /Ecs\.0204\s+no capacity \(ui-e2e\)/);
        await page.screenshot({ path: path.join(shots, 'job-failed.png'), fullPage: true });
    }

    // 5. The project's servers: two stopped, the deleted one gone.
    await page.goto(`${endpoint}/_ecsd/ui/servers`);
    await page.click('table a[href^="/_ecsd/ui/projects/"]');
    await page.waitForURL(/\/_ecsd\/ui\/projects\/.*\/servers$/);
    for (const id of created.serverIds.slice(0, 2)) {
        assert.match(await page.locator(`tr[data-server="${id}"]`).innerText(), /SHUTOFF/);
    }
    assert.equal(await page.locator(`tr[data-server="${created.serverIds[2]}"]`).count(), 0);
    await page.screenshot({ path: path.join(shots, 'servers.png'), fullPage: true });

    // 6. The control page hides the panels of admin APIs this build lacks.
    await page.goto(`${endpoint}/_ecsd/ui/control`);
    await page.waitForFunction(() => {
        const panels = Array.from(document.querySelectorAll('.panel[data-endpoint]'));
        const none = document.getElementById('control-none');
        return panels.every((panel) => panel.hidden) ? !none.hidden : true;
    });
    await page.screenshot({ path: path.join(shots, 'control.png'), fullPage: true });

    // 7. Where the fault API is missing, a stand-in answers in the browser (issue 11's shape):
    // the panel shows, lists the rule and posts the form's JSON. With the real API this part is
    // covered by step 3.
    if (faults.status === 404) {
        const posted = [];
        const rules = [{ id: 'r-1', operation: 'stopServer', effect: 'stuck', fired: 0 }];
        await page.route('**/_ecsd/faults', async (route) => {
            const request = route.request();
            if (request.method() === 'POST') {
                posted.push(JSON.parse(request.postData()));
                await route.fulfill({ status: 201, contentType: 'application/json', body: JSON.stringify({ id: 'r-2' }) });
            } else {
                await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(rules) });
            }
        });
        await page.goto(`${endpoint}/_ecsd/ui/control`);
        await page.locator('#panel-faults:not([hidden])').waitFor();
        assert.match(await page.locator('#panel-faults .rules').innerText(), /"stopServer"/);
        await page.click('#panel-faults button[type=submit]');
        await page.getByText('Done (201).').waitFor();
        assert.equal(posted.length, 1);
        assert.equal(posted[0].effect, 'fail', 'the textarea\'s rule, as JSON');
        assert.equal(await page.locator('#panel-clock').isHidden(), true, 'no clock API: hidden');
        await page.unroute('**/_ecsd/faults');
    }

    assert.deepEqual(consoleErrors, [], 'no script errors in the pages');
});
