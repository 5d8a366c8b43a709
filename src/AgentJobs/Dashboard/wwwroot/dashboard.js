// The agent-jobs dashboard: the job list (polled), a job view fed by the job's event stream (EventSource, which
// resumes with Last-Event-ID by itself), a start form, cancel and approval buttons. No framework, no build step.
// Everything the server sends is put on the page as text (textContent), never as HTML.
'use strict';

(() => {
  const api = document.querySelector('meta[name="agent-jobs-api"]').content;
  // The function key the page was opened with (?code=) goes on every call: EventSource cannot send headers.
  const code = new URLSearchParams(location.search).get('code');
  const listInterval = 2000;
  const eventTypes = ['accepted', 'phase', 'runStatus', 'toolCall', 'toolResult', 'cancelRequested', 'delta', 'reply', 'result',
    'approvalRequested', 'approvalDecided'];

  const $ = (id) => document.getElementById(id);

  function apiUrl(path, query) {
    const url = new URL(api + path, location.origin);
    for (const [name, value] of Object.entries(query || {})) url.searchParams.set(name, value);
    if (code) url.searchParams.set('code', code);
    return url.toString();
  }

  async function send(method, path, body, query) {
    const init = { method, headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const response = await fetch(apiUrl(path, query), init);
    const text = await response.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = null; }
    return { ok: response.ok, status: response.status, json };
  }

  function problemText(result) {
    const p = result.json || {};
    return p.detail || p.title || `The server answered ${result.status}.`;
  }

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (value === undefined || value === null) continue;
      if (name === 'text') node.textContent = value;
      else if (name === 'className') node.className = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  const time = (iso) => (iso ? new Date(iso).toLocaleTimeString([], { hour12: false }) : '');
  const dateTime = (iso) => (iso ? new Date(iso).toLocaleString([], { hour12: false }) : '');
  const clip = (text, max) => (text && text.length > max ? text.slice(0, max - 1) + '…' : text || '');
  const yesNo = (value) => (value === true ? 'yes' : value === false ? 'no' : '–');
  // Ids are 32 hex digits; a batch item's or turn's is its owner's with ':item:N' or ':turn:N' after it, so the
  // short form keeps that part (two items of one batch must not look the same).
  const shortId = (id) => (id.includes(':') ? `${id.slice(0, 8)}…${id.slice(id.indexOf(':'))}` : id.slice(0, 8));

  // ---- Job list ---------------------------------------------------------------------------------------------

  let selectedId = null;

  async function refreshList() {
    try {
      const result = await send('GET', '', undefined, { top: 50 });
      if (!result.ok) {
        $('list-state').textContent = `Job list unavailable: ${problemText(result)}`;
        return;
      }
      renderList(result.json.jobs || []);
      $('list-state').textContent = `Updated ${time(new Date().toISOString())}`;
    } catch (error) {
      $('list-state').textContent = `Job list unavailable: ${error.message}`;
    }
  }

  function renderList(jobs) {
    const body = $('job-rows');
    $('jobs-empty').hidden = jobs.length > 0;
    const rows = new Map([...body.rows].map((row) => [row.dataset.id, row]));
    const sameOrder = jobs.length === rows.size && jobs.every((job, i) => body.rows[i].dataset.id === job.id);
    if (!sameOrder) body.replaceChildren();
    for (const job of jobs) {
      let row = rows.get(job.id);
      if (!row) {
        row = el('tr', { 'data-id': job.id },
          el('td', {}, el('a', { href: `#job=${encodeURIComponent(job.id)}`, 'aria-label': `Job ${job.id}` }, el('code', { text: shortId(job.id) }))),
          el('td', {}), el('td', {}), el('td', {}), el('td', { className: 'prompt-cell' }));
      }
      const [, status, phase, created, prompt] = row.cells;
      const shown = job.outcome && job.outcome !== job.runtimeStatus ? `${job.runtimeStatus} · ${job.outcome}` : job.runtimeStatus;
      status.textContent = shown;
      // The colour says how it went: a job that completed by being cancelled is not green.
      status.className = `status status-${job.runtimeStatus}${job.outcome ? ` outcome-${job.outcome}` : ''}`;
      phase.textContent = job.phase || '';
      created.textContent = dateTime(job.createdAt);
      prompt.textContent = job.promptPreview || '';
      prompt.title = job.promptPreview || '';
      markCurrent(row);
      if (!sameOrder || !row.parentNode) body.append(row);
    }
  }

  function markCurrent(row) {
    if (row.dataset.id === selectedId) row.setAttribute('aria-current', 'true');
    else row.removeAttribute('aria-current');
  }

  // ---- Start form ---------------------------------------------------------------------------------------------

  async function startJob(event) {
    event.preventDefault();
    const form = $('start-form');
    const error = $('start-error');
    error.textContent = '';
    for (const field of form.querySelectorAll('[aria-invalid]')) field.removeAttribute('aria-invalid');

    const body = { prompt: $('prompt').value };
    const tools = $('tools').value.split(',').map((t) => t.trim()).filter((t) => t.length > 0);
    if (tools.length > 0) body.tools = tools;
    if ($('model').value.trim()) body.model = $('model').value.trim();
    if ($('max-duration').value !== '') body.maxDurationSeconds = Number($('max-duration').value);
    if ($('approve').checked) body.approval = { tools: ['*'] };

    const button = $('start-button');
    button.disabled = true;
    try {
      const result = await send('POST', '', body);
      if (result.status === 202) {
        $('prompt').value = '';
        location.hash = `job=${encodeURIComponent(result.json.id)}`;
        refreshList();
        return;
      }
      error.textContent = problemText(result);
      const field = { prompt: 'prompt', tools: 'tools', model: 'model', maxDurationSeconds: 'max-duration', approval: 'approve', 'approval.tools': 'approve' }[(result.json || {}).field];
      if (field) {
        $(field).setAttribute('aria-invalid', 'true');
        $(field).focus();
      }
    } catch (failure) {
      error.textContent = `Could not start the job: ${failure.message}`;
    } finally {
      button.disabled = false;
    }
  }

  // ---- Job view ---------------------------------------------------------------------------------------------

  let job = null; // { id, source, seen: Set of event ids, finished, answered: tool results so far }

  function openJob(id, moveFocus) {
    closeJob();
    selectedId = id;
    job = { id, source: null, seen: new Set(), finished: false, answered: 0, createdAt: null, missing: false };
    for (const row of $('job-rows').rows) markCurrent(row);
    $('job').hidden = false;
    $('job-id').textContent = id;
    $('job-prompt').textContent = '';
    $('job-error').textContent = '';
    for (const fact of ['status', 'phase', 'run', 'elapsed', 'outcome', 'usage', 'agent', 'stream']) $(`f-${fact}`).textContent = '–';
    $('f-polls').textContent = '0';
    $('f-tools').textContent = '0';
    $('reply').replaceChildren(el('span', { className: 'muted', text: 'No reply yet.' }));
    delete $('reply').dataset.live;
    $('reply').removeAttribute('aria-busy');
    $('tool-rows').replaceChildren();
    $('run-steps').replaceChildren(el('li', { className: 'muted', text: 'When the job has finished.' }));
    $('events').replaceChildren();
    $('approval-list').replaceChildren();
    $('approvals').hidden = true;
    $('cancel').disabled = false;
    if (moveFocus) $('job-title').focus();

    // A fresh EventSource starts from the first event, so a reload shows every event once; when the server
    // closes a long stream, EventSource reconnects with Last-Event-ID and gets only what came after.
    const source = new EventSource(apiUrl(`/${encodeURIComponent(id)}/events`));
    job.source = source;
    const current = job;
    for (const type of eventTypes) source.addEventListener(type, (e) => { if (job === current) onEvent(type, e); });
    source.onopen = () => { if (job === current) $('f-stream').textContent = 'live'; };
    source.onerror = () => {
      if (job !== current) return;
      if (source.readyState === EventSource.CLOSED) {
        // 204 (nothing after the last event), 404, or a network failure: read the status instead.
        $('f-stream').textContent = 'closed';
        if (!current.missing) refreshJob();
      } else {
        $('f-stream').textContent = 'reconnecting…';
      }
    };
    refreshJob();
  }

  function closeJob() {
    if (job && job.source) job.source.close();
    job = null;
    selectedId = null;
  }

  // While a job runs, its elapsed time counts up each second (the status API's figure moves only with its phases).
  setInterval(() => {
    if (job && !job.finished && job.createdAt) $('f-elapsed').textContent = `${((Date.now() - job.createdAt) / 1000).toFixed(0)} s`;
  }, 1000);

  function onEvent(type, e) {
    if (!e.lastEventId || job.seen.has(e.lastEventId)) return;
    job.seen.add(e.lastEventId);
    let data;
    try { data = JSON.parse(e.data); } catch { data = {}; }
    if (type === 'delta') {
      growReply(data); // the words as they are written: the reply grows; the event log lists the rest
      return;
    }

    // The log follows new events unless the reader has scrolled up in it.
    const log = $('events');
    const following = log.scrollHeight - log.scrollTop - log.clientHeight < 8;
    log.append(el('li', { 'data-event-id': e.lastEventId, 'data-type': type },
      el('time', { datetime: data.at, text: time(data.at) }),
      el('span', { className: 'type', text: type }),
      el('span', { className: 'summary', text: summary(type, data) })));
    if (following) log.scrollTop = log.scrollHeight;

    switch (type) {
      case 'accepted':
        $('job-prompt').textContent = data.prompt || '';
        break;
      case 'phase':
        $('f-phase').textContent = data.phase;
        break;
      case 'runStatus':
        $('f-run').textContent = data.status;
        if (data.polls !== undefined) $('f-polls').textContent = String(data.polls);
        break;
      case 'toolCall':
        toolRow(data.callId, data.tool).cells[1].replaceChildren(el('pre', { text: data.arguments || '' }));
        break;
      case 'toolResult': {
        const cell = toolRow(data.callId, data.tool).cells[2];
        cell.replaceChildren(el('pre', { className: data.isError ? 'is-error' : null, text: data.output || '' }));
        job.answered += 1;
        $('f-tools').textContent = String(job.answered);
        break;
      }
      case 'reply':
        settleReply(data.text || '');
        break;
      case 'approvalRequested': {
        // A held call is a tool call too: it is listed from the request, and a rejected one never runs.
        const row = toolRow(data.callId, data.tool);
        if (!row.cells[1].textContent) row.cells[1].replaceChildren(el('pre', { text: data.arguments || '' }));
        row.cells[2].replaceChildren(el('span', { className: 'muted', text: 'waits for approval' }));
        showApproval(data);
        break;
      }
      case 'approvalDecided': {
        const row = toolRow(data.callId, data.tool);
        if (data.approved) {
          if (row.cells[2].textContent === 'waits for approval') row.cells[2].replaceChildren(el('span', { className: 'muted', text: 'approved · running…' }));
        } else {
          row.cells[2].replaceChildren(el('pre', { className: 'is-error', text: `not run: rejected${data.reason ? ` (${data.reason})` : ''}` }));
        }
        hideApproval(data.callId);
        break;
      }
      case 'result':
        showResult(data);
        job.finished = true;
        job.source.close();
        $('f-stream').textContent = 'ended';
        refreshJob();
        break;
      default:
        break;
    }
  }

  // A text delta: appended to the reply as it streams (messages apart by a blank line, as the reply has them). Screen
  // readers hear the reply once it is whole (aria-busy while it grows).
  function growReply(d) {
    if (job.replied) return;
    const reply = $('reply');
    if (!job.live) {
      job.live = { text: '', item: null };
      reply.dataset.live = 'true';
      reply.setAttribute('aria-busy', 'true');
    }

    if (job.live.item !== null && d.itemId !== job.live.item && d.text) job.live.text += '\n\n';
    if (d.text) job.live.item = d.itemId;
    job.live.text += d.text || '';
    if (d.truncated) job.live.text += ' …';
    reply.textContent = job.live.text;
  }

  // The reply from durable history (the stream's reply event or the status API, whichever comes first): the text the
  // deltas spelled, now whole and final. Deltas still on their way after it are not drawn: they would shrink it.
  function settleReply(text) {
    job.replied = true;
    $('reply').textContent = text;
    delete $('reply').dataset.live;
    $('reply').removeAttribute('aria-busy');
  }

  function summary(type, d) {
    switch (type) {
      case 'accepted': return `${clip(d.prompt, 120)} · model ${d.model || '–'}${d.tools && d.tools.length ? ` · tools ${d.tools.join(', ')}` : ''}`;
      case 'phase': return d.phase;
      case 'runStatus': return `${d.status}${d.polls !== undefined ? ` · poll ${d.polls}` : ''}`;
      case 'toolCall': return `${d.tool}(${clip(d.arguments, 200)})`;
      case 'toolResult': return `${d.tool} → ${clip(d.output, 200)}${d.isError ? ' (error)' : ''}`;
      case 'cancelRequested': return d.reason || '';
      case 'reply': return clip(d.text, 200);
      case 'approvalRequested': return `${d.tool} waits for approval (call ${d.callId})`;
      case 'approvalDecided': return `${d.approved ? 'approved' : 'rejected'}${d.reason ? `: ${d.reason}` : ''} (call ${d.callId})`;
      case 'result': return `${d.outcome || d.runtimeStatus} · run ${d.runStatus || '–'} · agent deleted: ${yesNo(d.agentDeleted)}`;
      default: return JSON.stringify(d);
    }
  }

  function toolRow(callId, tool) {
    const body = $('tool-rows');
    let row = [...body.rows].find((r) => r.dataset.callId === callId);
    if (!row) {
      row = el('tr', { 'data-call-id': callId },
        el('td', {}, el('code', { text: tool || '' })),
        el('td', {}), el('td', {}, el('span', { className: 'muted', text: 'running…' })));
      body.append(row);
    }
    return row;
  }

  function showResult(d) {
    if ($('reply').querySelector('.muted')) $('reply').replaceChildren(el('span', { className: 'muted', text: 'No reply.' }));
    $('f-status').textContent = d.runtimeStatus || '–';
    $('f-outcome').textContent = d.outcome || '–';
    $('f-outcome').className = d.outcome ? `outcome-${d.outcome}` : '';
    if (d.runStatus) $('f-run').textContent = d.runStatus;
    if (d.polls !== undefined) $('f-polls').textContent = String(d.polls);
    if (d.toolCalls !== undefined) $('f-tools').textContent = String(d.toolCalls);
    if (d.elapsedSeconds !== undefined) $('f-elapsed').textContent = `${Number(d.elapsedSeconds).toFixed(1)} s`;
    $('f-usage').textContent = d.usage ? `${d.usage.totalTokens} (${d.usage.promptTokens} in, ${d.usage.completionTokens} out)` : '–';
    $('f-agent').textContent = yesNo(d.agentDeleted);
    if (d.failure && d.failure.message) $('job-error').textContent = `${d.failure.code}: ${d.failure.message}`;
    $('cancel').disabled = true;
  }

  // The status API: progress while the job runs (phase, polls, elapsed), run steps and the full reply at the end.
  async function refreshJob() {
    const current = job;
    if (!current) return;
    let result;
    try {
      result = await send('GET', `/${encodeURIComponent(current.id)}`);
    } catch {
      return;
    }
    if (job !== current) return;
    if (!result.ok) {
      $('job-error').textContent = problemText(result);
      $('cancel').disabled = true;
      if (result.status === 404) {
        // No such job: nothing will change, so it is not asked again (the list still refreshes).
        current.finished = true;
        current.missing = true;
        if (current.source) current.source.close();
        $('f-stream').textContent = 'closed';
      }
      return;
    }
    const s = result.json;
    current.createdAt = s.createdAt ? Date.parse(s.createdAt) : null;
    $('f-status').textContent = s.runtimeStatus;
    const p = s.progress;
    if (p && !current.finished) {
      $('f-phase').textContent = p.phase;
      if (p.runStatus) $('f-run').textContent = p.runStatus;
      $('f-polls').textContent = String(p.polls);
      $('f-elapsed').textContent = `${Number(p.elapsedSeconds).toFixed(1)} s`;
    }
    if (s.result) {
      const r = s.result;
      showResult({
        runtimeStatus: s.runtimeStatus, outcome: r.outcome, runStatus: r.runStatus, failure: r.failure, usage: r.usage,
        agentDeleted: r.agentDeleted, polls: r.polls, toolCalls: r.toolCalls, elapsedSeconds: r.elapsedSeconds,
      });
      if (r.reply) settleReply(r.reply);
      renderRunSteps(r.runSteps || []);
    } else if (['Completed', 'Failed', 'Terminated'].includes(s.runtimeStatus)) {
      $('cancel').disabled = true;
      if (s.failure) $('job-error').textContent = `${s.failure.code}: ${s.failure.message}`;
    }
  }

  function renderRunSteps(steps) {
    const list = $('run-steps');
    if (steps.length === 0) {
      list.replaceChildren(el('li', { className: 'muted', text: 'No run steps.' }));
      return;
    }
    list.replaceChildren(...steps.map((step) => {
      const item = el('li', {}, el('span', { className: 'type', text: `${step.type} (${step.status})` }));
      if (step.messageId) item.append(` message ${step.messageId}`);
      for (const call of step.toolCalls || []) {
        item.append(el('pre', { text: `${call.name}(${call.arguments}) → ${call.output ?? '…'}` }));
      }
      return item;
    }));
  }

  async function cancelJob() {
    if (!job) return;
    const button = $('cancel');
    button.disabled = true;
    const result = await send('POST', `/${encodeURIComponent(job.id)}/cancel`, { reason: 'cancelled from the dashboard' })
      .catch((failure) => ({ ok: false, status: 0, json: { detail: failure.message } }));
    if (result.status === 202) {
      $('f-stream').textContent = 'cancel requested';
    } else {
      $('job-error').textContent = problemText(result);
      button.disabled = result.status === 409;
    }
  }

  // ---- Approvals (when the job's tools need them) --------------------------------------------------------------

  function showApproval(d) {
    if ($('approval-list').querySelector(`[data-call-id="${CSS.escape(d.callId)}"]`)) return;
    const reasonId = `reason-${d.callId}`;
    const reason = el('input', { id: reasonId, autocomplete: 'off' });
    const decide = (approved) => async () => {
      const body = { callId: d.callId, approved };
      if (reason.value.trim()) body.reason = reason.value.trim();
      const result = await send('POST', `/${encodeURIComponent(job.id)}/approvals`, body)
        .catch((failure) => ({ ok: false, status: 0, json: { detail: failure.message } }));
      if (!result.ok) $('job-error').textContent = problemText(result);
    };
    const approve = el('button', { type: 'button', text: `Approve ${d.tool}` });
    const reject = el('button', { type: 'button', className: 'danger', text: `Reject ${d.tool}` });
    approve.addEventListener('click', decide(true));
    reject.addEventListener('click', decide(false));
    $('approval-list').append(el('li', { 'data-call-id': d.callId },
      el('div', {}, el('code', { text: d.tool }), d.expiresAt ? el('span', { className: 'muted', text: ` · expires ${time(d.expiresAt)}` }) : null),
      el('pre', { text: d.arguments || '' }),
      el('div', { className: 'buttons' },
        el('div', {}, el('label', { for: reasonId, text: 'Reason (optional)' }), reason),
        approve, reject)));
    $('approvals').hidden = false;
  }

  function hideApproval(callId) {
    const item = $('approval-list').querySelector(`[data-call-id="${CSS.escape(callId)}"]`);
    if (item) item.remove();
    $('approvals').hidden = $('approval-list').children.length === 0;
  }


  // ---- Sessions: list, start form, chat view -----------------------------------------------------------------
  // A session's turns are orchestrations of their own; each running turn's events (its reply's deltas, its held tool
  // calls) come from the job event stream by the turn's instance id, so a reply grows as it is written and a reload
  // resumes it from the start without repeating text.

  const sessionsApi = api.replace(/agent-jobs$/, 'agent-sessions');
  let session = null; // { id, turns: Map(number -> turn view), pending: Map(turnId -> li), ending, ended }

  async function sendSessions(method, path, body, query) {
    const init = { method, headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const url = new URL(sessionsApi + path, location.origin);
    for (const [name, value] of Object.entries(query || {})) url.searchParams.set(name, value);
    if (code) url.searchParams.set('code', code);
    const response = await fetch(url.toString(), init);
    const text = await response.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch { json = null; }
    return { ok: response.ok, status: response.status, json };
  }

  const failed = (failure) => ({ ok: false, status: 0, json: { detail: failure.message } });
  const list = (text) => text.split(',').map((t) => t.trim()).filter((t) => t.length > 0);
  const turnInstance = (sessionId, number) => `${sessionId}:turn:${String(number).padStart(6, '0')}`;

  async function refreshSessions() {
    const result = await sendSessions('GET', '', undefined, { top: 50 }).catch(failed);
    if (!result.ok) return;
    const sessions = result.json.sessions || [];
    $('sessions-empty').hidden = sessions.length > 0;
    $('session-rows').replaceChildren(...sessions.map((s) => el('tr', { 'data-id': s.id, 'aria-current': session && session.id === s.id ? 'true' : null },
      el('td', {}, el('a', { href: `#session=${encodeURIComponent(s.id)}`, 'aria-label': `Session ${s.id}` }, el('code', { text: s.id.slice(0, 8) }))),
      el('td', { className: `status status-${s.runtimeStatus}`, text: s.status }),
      el('td', { text: String(s.turns) }),
      el('td', { text: dateTime(s.createdAt) }))));
  }

  async function startSession(event) {
    event.preventDefault();
    const error = $('session-start-error');
    error.textContent = '';
    const body = {};
    const tools = list($('session-tools').value);
    if (tools.length > 0) body.tools = tools;
    if ($('session-model').value.trim()) body.model = $('session-model').value.trim();
    const held = list($('session-approval').value);
    if (held.length > 0) body.approval = { tools: held };
    const button = $('session-start-button');
    button.disabled = true;
    try {
      const result = await sendSessions('POST', '', body).catch(failed);
      if (result.status === 201) {
        location.hash = `session=${encodeURIComponent(result.json.id)}`;
        refreshSessions();
      } else {
        error.textContent = problemText(result);
      }
    } finally {
      button.disabled = false;
    }
  }

  function openSession(id, moveFocus) {
    closeSession();
    session = { id, turns: new Map(), pending: new Map(), ending: false, ended: false };
    $('session').hidden = false;
    $('session-id').textContent = id;
    $('session-status').textContent = '–';
    $('session-error').textContent = '';
    $('turns').replaceChildren();
    $('send-turn').disabled = false;
    $('end-session').disabled = false;
    if (moveFocus) $('session-title').focus();
    refreshSession();
  }

  function closeSession() {
    if (!session) return;
    for (const turn of session.turns.values()) if (turn.source) turn.source.close();
    session = null;
  }

  // One turn in the conversation: the message, the agent's reply (growing while it streams), its held calls.
  function turnView(number, prompt) {
    let turn = session.turns.get(number);
    if (turn) return turn;
    const reply = el('div', { className: 'reply', 'aria-live': 'polite' }, el('span', { className: 'muted', text: 'Waiting…' }));
    const meta = el('p', { className: 'muted turn-meta' });
    const approvals = el('ul', { className: 'turn-approvals' });
    const li = el('li', { 'data-turn': String(number) }, el('p', { className: 'you', text: prompt || '' }), reply, approvals, meta);
    const list = $('turns');
    const after = [...list.children].find((c) => c.dataset.turn && Number(c.dataset.turn) > number);
    const firstPending = [...list.children].find((c) => c.dataset.pending);
    list.insertBefore(li, after || firstPending || null);
    turn = { number, li, reply, meta, approvals, source: null, live: null, replied: false, finished: false, seen: new Set() };
    session.turns.set(number, turn);
    return turn;
  }

  async function refreshSession() {
    const current = session;
    if (!current) return;
    const result = await sendSessions('GET', `/${encodeURIComponent(current.id)}`).catch(failed);
    if (session !== current) return;
    if (!result.ok) {
      $('session-error').textContent = problemText(result);
      return;
    }
    const s = result.json;
    $('session-status').textContent = `${s.status}${s.runningTurn ? ` · turn ${s.runningTurn} running` : ''}${s.usage ? ` · ${s.usage.totalTokens} tokens` : ''}`;
    for (const t of s.turns || []) {
      const pending = current.pending.get(t.turnId);
      if (pending) {
        pending.remove();
        current.pending.delete(t.turnId);
      }
      const turn = turnView(t.number, t.promptPreview);
      if (t.outcome) finishTurn(turn, t);
    }
    if (s.runningTurn) {
      const turn = turnView(s.runningTurn, '');
      if (!turn.source && !turn.finished) followTurn(turn);
    }
    current.ending = s.status === 'ended' || s.status === 'ending';
    current.ended = s.status === 'ended';
    $('send-turn').disabled = current.ending;
    $('end-session').disabled = current.ending;
    $('cancel-turn').disabled = current.ending || !s.runningTurn;
  }

  function finishTurn(turn, t) {
    if (turn.finished) return;
    turn.finished = true;
    if (turn.source) turn.source.close();
    turn.source = null;
    turn.replied = true;
    turn.reply.textContent = t.reply || `(no reply: ${t.outcome})`;
    delete turn.reply.dataset.live;
    turn.reply.removeAttribute('aria-busy');
    turn.li.dataset.outcome = t.outcome;
    turn.meta.textContent = `${t.outcome}${t.toolCalls ? ` · ${t.toolCalls} tool call${t.toolCalls === 1 ? '' : 's'}` : ''}${t.usage ? ` · ${t.usage.totalTokens} tokens` : ''}`;
    turn.approvals.replaceChildren();
  }

  function followTurn(turn) {
    const sessionId = session.id;
    const source = new EventSource(apiUrl(`/${encodeURIComponent(turnInstance(sessionId, turn.number))}/events`));
    turn.source = source;
    for (const type of ['accepted', 'delta', 'reply', 'approvalRequested', 'approvalDecided', 'result']) {
      source.addEventListener(type, (e) => {
        if (!session || session.id !== sessionId || turn.finished || !e.lastEventId || turn.seen.has(e.lastEventId)) return;
        turn.seen.add(e.lastEventId);
        let d;
        try { d = JSON.parse(e.data); } catch { d = {}; }
        onTurnEvent(turn, type, d);
      });
    }
    source.onerror = () => { if (source.readyState === EventSource.CLOSED) turn.source = null; };
  }

  function onTurnEvent(turn, type, d) {
    switch (type) {
      case 'accepted':
        if (d.prompt) turn.li.querySelector('.you').textContent = d.prompt;
        break;
      case 'delta': {
        if (turn.replied) return;
        if (!turn.live) {
          turn.live = { text: '', item: null };
          turn.reply.dataset.live = 'true';
          turn.reply.setAttribute('aria-busy', 'true');
        }
        if (turn.live.item !== null && d.itemId !== turn.live.item && d.text) turn.live.text += '\n\n';
        if (d.text) turn.live.item = d.itemId;
        turn.live.text += d.text || '';
        turn.reply.textContent = turn.live.text;
        break;
      }
      case 'reply':
        turn.replied = true;
        turn.reply.textContent = d.text || '';
        delete turn.reply.dataset.live;
        turn.reply.removeAttribute('aria-busy');
        break;
      case 'approvalRequested':
        showTurnApproval(turn, d);
        break;
      case 'approvalDecided': {
        const item = turn.approvals.querySelector(`[data-call-id="${CSS.escape(d.callId)}"]`);
        if (item) item.remove();
        break;
      }
      case 'result':
        if (turn.source) turn.source.close();
        turn.source = null;
        refreshSession();
        break;
      default:
        break;
    }
  }

  function showTurnApproval(turn, d) {
    if (turn.approvals.querySelector(`[data-call-id="${CSS.escape(d.callId)}"]`)) return;
    const sessionId = session.id;
    const decide = (approved) => async () => {
      const result = await sendSessions('POST', `/${encodeURIComponent(sessionId)}/approvals`, { callId: d.callId, approved }).catch(failed);
      if (!result.ok) $('session-error').textContent = problemText(result);
    };
    const approve = el('button', { type: 'button', text: `Approve ${d.tool}` });
    const reject = el('button', { type: 'button', className: 'danger', text: `Reject ${d.tool}` });
    approve.addEventListener('click', decide(true));
    reject.addEventListener('click', decide(false));
    turn.approvals.append(el('li', { 'data-call-id': d.callId },
      el('div', {}, el('code', { text: d.tool }), el('span', { className: 'muted', text: ' waits for your approval' })),
      el('pre', { text: d.arguments || '' }),
      el('div', { className: 'buttons' }, approve, reject)));
  }

  async function sendTurn(event) {
    event.preventDefault();
    if (!session) return;
    const prompt = $('message').value;
    $('session-error').textContent = '';
    if (!prompt.trim()) {
      $('session-error').textContent = 'Write a message first.';
      $('message').focus();
      return;
    }
    const button = $('send-turn');
    button.disabled = true;
    try {
      const body = { prompt };
      if ($('on-busy').value !== 'queue') body.onBusy = $('on-busy').value;
      const result = await sendSessions('POST', `/${encodeURIComponent(session.id)}/turns`, body).catch(failed);
      if (result.status === 202) {
        $('message').value = '';
        const li = el('li', { 'data-pending': result.json.turnId }, el('p', { className: 'you', text: prompt }),
          el('p', { className: 'muted turn-meta', text: result.json.queued ? 'queued' : 'starting…' }));
        $('turns').append(li);
        session.pending.set(result.json.turnId, li);
        refreshSession();
      } else {
        $('session-error').textContent = problemText(result);
      }
    } finally {
      button.disabled = !!(session && session.ending);
    }
  }

  async function cancelTurn() {
    if (!session) return;
    const result = await sendSessions('POST', `/${encodeURIComponent(session.id)}/cancel-turn`, { reason: 'cancelled from the dashboard' }).catch(failed);
    if (result.status !== 202) $('session-error').textContent = problemText(result);
    refreshSession();
  }

  async function endSession() {
    if (!session) return;
    $('end-session').disabled = true;
    const result = await sendSessions('DELETE', `/${encodeURIComponent(session.id)}`).catch(failed);
    if (result.status !== 202) $('session-error').textContent = problemText(result);
    refreshSession();
  }

  // ---- Wiring ---------------------------------------------------------------------------------------------

  function route(moveFocus) {
    const sessionMatch = /^#session=(.+)$/.exec(location.hash);
    const sessionId = sessionMatch ? decodeURIComponent(sessionMatch[1]) : null;
    if (sessionId) {
      if (job) closeJob();
      $('job').hidden = true;
      if (!session || session.id !== sessionId) openSession(sessionId, moveFocus);
      return;
    }
    closeSession();
    $('session').hidden = true;

    const match = /^#job=(.+)$/.exec(location.hash);
    const id = match ? decodeURIComponent(match[1]) : null;
    if (id === selectedId) return;
    if (id) {
      openJob(id, moveFocus);
    } else {
      closeJob();
      $('job').hidden = true;
    }
  }

  async function tick() {
    await refreshList();
    await refreshSessions();
    if (job && !job.finished) await refreshJob();
    setTimeout(tick, listInterval);
  }

  // The open session's turns change faster than the lists: read it every second.
  async function sessionTick() {
    if (session && !session.ended) await refreshSession().catch(() => {});
    setTimeout(sessionTick, 1000);
  }

  $('session-form').addEventListener('submit', startSession);
  $('turn-form').addEventListener('submit', sendTurn);
  $('cancel-turn').addEventListener('click', cancelTurn);
  $('end-session').addEventListener('click', endSession);
  $('start-form').addEventListener('submit', startJob);
  $('cancel').addEventListener('click', cancelJob);
  window.addEventListener('hashchange', () => route(true));
  route(false);
  tick();
  sessionTick();
})();
