// Browser tests of the admin UI's Marketplace page (htdocs/js/views/
// marketplace.js) and of the Markdown renderer its documentation goes
// through (htdocs/js/markdown.js). run.mjs registers them with its harness
// (every test also fails on console errors, failed or unexpected HTTP
// errors, dialogs and foreign requests).

export function register({ test, assert, waitFor, waitText, load, go, shot, expectHttp, apiCall, text, inflight, RUN, BASE, TOKEN }) {
  const installed = [];

  // Signed in, whatever ran before (these tests also run alone, with
  // SCRIPTORCH_UI_ONLY=marketplace).
  async function signedIn(page) {
    if (!page.url().startsWith(BASE)) await load(page, `${BASE}/`);
    if (await page.locator('#whoami').isVisible()) return;
    await go(page, '/login');
    await page.locator('#token').fill(TOKEN);
    await page.locator('#token').press('Enter');
    await waitFor('the scripts page', async () => (await page.evaluate(() => location.hash)).startsWith('#/scripts'));
  }

  test('marketplace: the items, an item\'s docs rendered, install with a chosen name', async (page) => {
    await signedIn(page);
    await go(page, '/marketplace');
    const table = page.locator('#market-table');
    await table.waitFor();
    const names = await table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.item));
    assert(JSON.stringify(names) === JSON.stringify(['color-correct', 'extract-frames', 'frame-stats', 'sequence-check', 'watermark']),
      `the items listed: ${names}`);
    assert(await page.locator('nav.mainnav a[data-nav="marketplace"][aria-current="page"]').count() === 1, 'the nav marks the page');
    const types = await table.locator('tbody tr [data-type]').evaluateAll((els) => els.map((e) => e.dataset.type));
    assert(new Set(types).size === 3, `three runtimes among the items: ${types}`);
    await shot(page, '20-marketplace');

    await table.locator('tr[data-item="watermark"] a.btn').click();
    await waitFor('the item page', async () => (await page.evaluate(() => location.hash)) === '#/marketplace/watermark');
    const docs = page.locator('#item-docs .markdown');
    await docs.waitFor();
    await waitText(page.locator('main h1'), 'Watermark a video', 'the item\'s title');
    // The document's "# " heading sits below the page's h1; its table, code
    // and examples are rendered, nothing of it as HTML.
    assert((await text(docs.locator('h2').first())) === 'Watermark a video', 'the docs\' title is an h2');
    assert(await docs.locator('h3', { hasText: 'Parameters' }).count() === 1, 'a Parameters section');
    const params = await docs.locator('table tbody tr td:first-child code').allTextContents();
    for (const p of ['input', 'output', 'image', 'text', 'position', 'opacity', 'timecode', 'timecode_start']) {
      assert(params.includes(p), `the parameter table names ${p}: ${params}`);
    }
    assert(await docs.locator('pre code[data-lang="json"]').count() >= 2, 'the JSON examples are code blocks');
    assert(await docs.locator('script, img, iframe, style').count() === 0, 'no element the source could have smuggled');
    await shot(page, '21-marketplace-item');

    // Install under a name of our own, disabled.
    const form = page.locator('#install-form');
    const name = `ui-wm-${RUN}`;
    assert((await form.locator('input[name="name"]').inputValue()).startsWith('watermark'), 'a name is proposed');
    await form.locator('input[name="name"]').fill(name);
    await form.locator('#install-enabled').uncheck();
    await form.getByRole('button', { name: 'Install' }).click();
    const done = page.locator('#install-done');
    await waitText(done, `Installed as ${name} (disabled).`, 'the install message');
    const id = Number(await done.locator('a').getAttribute('data-script-id'));
    installed.push(id);
    const s = await apiCall('GET', `/admin/scripts/${id}`);
    assert(s.status === 200 && s.json.name === name && s.json.enabled === false && s.json.path.endsWith(`/marketplace/${name}/watermark.sh`),
      `the script installed: ${s.text}`);
    await waitText(page.locator('#item-installed'), name, 'the installed state');
    assert((await page.locator('#item-installed [data-state]').getAttribute('data-state')) === 'installed', 'shown as installed');

    // The same name again: the API's 409, shown at the field, nothing else broken.
    expectHttp(409, /\/api\/v1\/marketplace\/watermark\/install/);
    await form.locator('input[name="name"]').fill(name);
    await form.getByRole('button', { name: 'Install' }).click();
    await waitText(page.locator('#install-error'), 'already exists', 'the conflict message');
    assert((await form.locator('input[name="name"]').getAttribute('aria-invalid')) === 'true', 'the name field is marked');

    // Back to the list: the item shows installed, with a link to the script.
    await go(page, '/marketplace');
    const row = page.locator('#market-table tr[data-item="watermark"]');
    await row.waitFor();
    await waitFor('the link to the installed script', async () => (await row.locator(`a[data-script-id="${id}"]`).count()) === 1);
    await row.locator(`a[data-script-id="${id}"]`).click();
    await waitFor('the script page', async () => (await page.evaluate(() => location.hash)) === `#/scripts/${id}`);
    await page.locator('main h1').waitFor();
    await waitFor('the requests to end', () => inflight.size === 0);
  }, { timeout: 120000 });

  test('marketplace: the Markdown renderer escapes everything and keeps to http(s) links', async (page) => {
    await signedIn(page);
    await go(page, '/marketplace');
    await page.locator('#market-table').waitFor();
    const r = await page.evaluate(async () => {
      const { renderMarkdown } = await import('/js/markdown.js');
      window.__pwned = 0;
      const src = [
        '# Title <img src=x onerror="window.__pwned=1">',
        '',
        '<script>window.__pwned = 2</script>',
        '',
        'Text with **bold**, *em*, _em too_, `code <b>x</b>`, a\\*literal\\* star, snake_case_name,',
        '[ok](https://docs.example/a?b=1) [js](javascript:window.__pwned=3) [rel](client.md)',
        'and <https://auto.example/x>.',
        '',
        '| `a` | b |',
        '|---|:---:|',
        '| <i>x</i> | y \\| z |',
        '',
        '- one',
        '- two',
        '  - nested',
        '',
        '1. first',
        '2. second',
        '',
        '```json',
        '{"a": "<b>"}',
        '```',
        '',
        '    indented <code>',
        '',
        '> quoted',
        '',
        '---',
      ].join('\n');
      const root = renderMarkdown(src);
      document.body.append(root);
      const out = {
        pwned: window.__pwned,
        tags: [...root.querySelectorAll('*')].map((e) => e.tagName.toLowerCase()),
        h2: root.querySelector('h2').textContent,
        links: [...root.querySelectorAll('a')].map((a) => [a.textContent, a.getAttribute('href'), a.getAttribute('rel'), a.getAttribute('target')]),
        codes: [...root.querySelectorAll('p code')].map((c) => c.textContent),
        strong: root.querySelector('strong') && root.querySelector('strong').textContent,
        ems: [...root.querySelectorAll('em')].map((e) => e.textContent),
        paras: [...root.querySelectorAll(':scope > p')].map((e) => e.textContent),
        th: [...root.querySelectorAll('th')].map((e) => [e.textContent, e.dataset.align || '']),
        td: [...root.querySelectorAll('td')].map((e) => e.textContent),
        lists: [...root.querySelectorAll('ul > li')].map((e) => e.firstChild.textContent),
        nested: root.querySelectorAll('ul ul li').length,
        ol: root.querySelectorAll('ol li').length,
        pre: [...root.querySelectorAll('pre code')].map((c) => [c.textContent, c.dataset.lang || '']),
        quote: root.querySelector('blockquote').textContent,
        hr: root.querySelectorAll('hr').length,
      };
      root.remove();
      return out;
    });
    assert(r.pwned === 0, `the source ran code (${r.pwned})`);
    const allowed = new Set(['h2', 'p', 'strong', 'em', 'code', 'a', 'div', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'ul', 'ol', 'li', 'pre', 'blockquote', 'hr']);
    const odd = r.tags.filter((t) => !allowed.has(t));
    assert(!odd.length, `elements the renderer should never make: ${odd}`);
    assert(r.h2 === 'Title <img src=x onerror="window.__pwned=1">', `the heading shows the markup as text: ${r.h2}`);
    assert(r.paras[0] === '<script>window.__pwned = 2</script>', `a raw HTML block is text: ${r.paras[0]}`);
    assert(JSON.stringify(r.links) === JSON.stringify([
      ['ok', 'https://docs.example/a?b=1', 'noopener noreferrer', '_blank'],
      ['https://auto.example/x', 'https://auto.example/x', 'noopener noreferrer', '_blank'],
    ]), `only http(s) links become links: ${JSON.stringify(r.links)}`);
    assert(r.codes[0] === 'code <b>x</b>', `a code span keeps its text: ${r.codes}`);
    assert(r.strong === 'bold' && JSON.stringify(r.ems) === JSON.stringify(['em', 'em too']), `emphasis: ${r.strong} ${r.ems}`);
    const p2 = r.paras[1];
    assert(p2.includes('a*literal* star') && p2.includes('snake_case_name,') && p2.includes('ok js rel and'),
      `escapes, words with _, and non-web links as their text: ${p2}`);
    assert(JSON.stringify(r.th) === JSON.stringify([['a', ''], ['b', 'center']]), `table head: ${JSON.stringify(r.th)}`);
    assert(JSON.stringify(r.td) === JSON.stringify(['<i>x</i>', 'y | z']), `table cells: ${JSON.stringify(r.td)}`);
    assert(JSON.stringify(r.lists.slice(0, 2)) === JSON.stringify(['one', 'two']) && r.nested === 1 && r.ol === 2, `lists: ${r.lists} ${r.nested} ${r.ol}`);
    assert(JSON.stringify(r.pre) === JSON.stringify([['{"a": "<b>"}', 'json'], ['indented <code>', '']]), `code blocks: ${JSON.stringify(r.pre)}`);
    assert(r.quote === 'quoted' && r.hr === 1, `quote and rule: ${r.quote} ${r.hr}`);
  });

  test('marketplace: narrow window, the pages fit without horizontal scrolling', async (page) => {
    await signedIn(page);
    await page.setViewportSize({ width: 390, height: 844 });
    const over = [];
    try {
      for (const [hash, sel, name] of [['/marketplace', '#market-table', '22-marketplace-narrow'],
        ['/marketplace/color-correct', '#item-docs .markdown', '23-marketplace-item-narrow']]) {
        await go(page, hash);
        await page.locator(sel).waitFor();
        await waitFor(`the requests of ${hash} to end`, () => inflight.size === 0);
        await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
        const w = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
        if (w[0] > w[1] + 1) over.push(`${hash}: ${w[0]} px wide in ${w[1]} px`);
        await shot(page, name);
      }
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
    assert(!over.length, over.join('; '));
    const stray = await page.evaluate(() => [...document.querySelector('main').childNodes]
      .filter((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim()).map((n) => n.textContent));
    assert(!stray.length, `text loose in the page (a "null" of an absent element?): ${JSON.stringify(stray)}`);
  });

  test('marketplace: an unknown item says so', async (page) => {
    await signedIn(page);
    await go(page, '/marketplace/no-such-item');
    await waitText(page.locator('main h1'), 'No such item', 'the page for an unknown item');
    for (const id of installed.splice(0)) await apiCall('DELETE', `/admin/scripts/${id}`);
  });
}
