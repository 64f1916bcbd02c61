// The simulator's live page. It polls the control API of the server that serves it (same origin) about once a
// second and redraws a section only when its data changed; it acts through the same endpoints the tests use:
// POST /control/rocketchat/messages (say) and POST /control/rocketchat/click (a button). No framework, no build.
// Every text from the simulator goes into the DOM as a text node or attribute, never as HTML.
'use strict';

const POLL_MS = 1000;
const BOT_TYPES = new Set(['bot']);
const JIRA_FLAVORS = [['jira-dc', 'Jira Data Center'], ['jira-cloud', 'Jira Cloud']];
const STATUS_CATEGORY_ORDER = { new: 0, indeterminate: 1, done: 2 };
// The emoji the status reactions and the usual reactions use; anything else is shown by its :name:.
const EMOJI = {
  ':new:': '🆕', ':hammer_and_wrench:': '🛠️', ':white_check_mark:': '✅', ':eyes:': '👀', ':thumbsup:': '👍',
  ':+1:': '👍', ':thumbsdown:': '👎', ':-1:': '👎', ':x:': '❌', ':warning:': '⚠️', ':hourglass:': '⌛',
  ':hourglass_flowing_sand:': '⏳', ':fire:': '🔥', ':tada:': '🎉', ':heart:': '❤️', ':rocket:': '🚀',
  ':star:': '⭐', ':question:': '❓', ':pause_button:': '⏸️', ':no_entry:': '⛔', ':wave:': '👋', ':pray:': '🙏',
  ':ok:': '🆗', ':zzz:': '💤', ':bell:': '🔔', ':speech_balloon:': '💬', ':lock:': '🔒',
};

const state = {
  as: localStorage.getItem('dutydesk-sim.as') || 'alice',
  room: localStorage.getItem('dutydesk-sim.room') || '',
  replyTo: null,           // {rid, tmid, text} while the composer posts in a thread
  rendered: {},            // section -> the JSON it was last drawn from
  snapshot: null,
  polling: false,
  again: false,
  timer: 0,
};

const $ = (id) => document.getElementById(id);

/** h('div', {class: 'x', dataset: {id}}, child, 'text', [more]) → an element; strings become text nodes. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'class') el.className = v;
    // Through the CSSOM: the page's Content-Security-Policy refuses style="" attributes.
    else if (k === 'style') for (const [p, x] of Object.entries(v)) el.style.setProperty(p, x);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}
function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// -- talking to the control API ------------------------------------------------------------------------------------

async function call(method, path, body) {
  const r = await fetch('/control' + path, {
    method,
    cache: 'no-store',
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { json = { raw: text }; }
  if (!r.ok) {
    const why = json.message || json.error || json.reason || (json.errorMessages ?? []).join(' ') || text;
    throw new Error(`${method} ${path}: ${r.status} ${why}`);
  }
  return json;
}
const get = (p) => call('GET', p);
const orEmpty = (p) => p.catch(() => []);

/** Everything the page shows, read in one round (plus one request per room for its messages). */
async function snapshot() {
  const [users, rooms, schedules, oncallUsers, ...jira] = await Promise.all([
    get('/rocketchat/users').then((j) => j.users),
    get('/rocketchat/rooms').then((j) => j.rooms),
    orEmpty(get('/oncall/schedules')),
    orEmpty(get('/oncall/users')),
    ...JIRA_FLAVORS.map(([system]) => Promise.all([
      orEmpty(get(`/${system}/projects`)), orEmpty(get(`/${system}/issues`)), orEmpty(get(`/${system}/users`)),
      orEmpty(get(`/${system}/statuses`)),
    ])),
  ]);
  const messages = await Promise.all(rooms.map((r) =>
    get(`/rocketchat/rooms/${encodeURIComponent(r._id)}/messages`).then((j) => j.messages, () => [])));
  rooms.forEach((r, i) => { r.messages = messages[i]; });
  return {
    users, rooms, schedules, oncallUsers,
    jira: JIRA_FLAVORS.map(([system, title], i) => ({
      system, title, projects: jira[i][0], issues: jira[i][1], users: jira[i][2], statuses: jira[i][3],
    })),
  };
}

async function poll() {
  if (state.polling) { state.again = true; return; }
  state.polling = true;
  clearTimeout(state.timer);
  try {
    const snap = await snapshot();
    state.snapshot = snap;
    render(snap);
    setConn(true, `live · updated ${new Date().toLocaleTimeString()}`);
  } catch (e) {
    setConn(false, `not reaching the simulator (${e.message}); retrying`);
  } finally {
    state.polling = false;
    if (state.again) { state.again = false; setTimeout(poll, 0); } else state.timer = setTimeout(poll, POLL_MS);
  }
}
const refreshNow = () => poll();

function setConn(ok, text) {
  const el = $('conn');
  el.textContent = text;
  el.classList.toggle('down', !ok);
  document.body.dataset.live = ok ? 'up' : 'down';
}

function notice(text, isError = false) {
  const el = $('notice');
  el.textContent = text;
  el.classList.toggle('error', isError);
  el.classList.toggle('shown', !!text);
}

// -- rendering -----------------------------------------------------------------------------------------------------

/** Redraws section `name` with `draw()` when `data` differs from what it was drawn from last time. */
function section(name, data, draw) {
  const key = JSON.stringify(data);
  if (state.rendered[name] === key) return;
  state.rendered[name] = key;
  draw();
}

function render(snap) {
  section('users', snap.users, () => renderUsers(snap.users));
  const channels = snap.rooms.filter((r) => r.t !== 'd');
  const dms = snap.rooms.filter((r) => r.t === 'd');
  section('rooms', snap.rooms.map((r) => [r._id, r.t, r.name, r.usernames]), () => renderRoomSelect(channels, dms));
  renderRoomList($('channels'), 'channel', channels, snap);
  renderRoomList($('dms'), 'dm', dms, snap);
  section('oncall', [snap.schedules, snap.oncallUsers], () => renderOncall(snap.schedules, snap.oncallUsers));
  section('jira', snap.jira, () => renderJira(snap.jira));
}

function renderUsers(users) {
  const sel = $('as-user');
  const humans = users.filter((u) => !BOT_TYPES.has(u.type));
  if (!humans.some((u) => u.username === state.as) && humans.length) setAs(humans[0].username);
  sel.replaceChildren(...humans.map((u) => h('option', { value: u.username }, `${u.name} (@${u.username})`)));
  sel.value = state.as;
}

function setAs(username) {
  state.as = username;
  localStorage.setItem('dutydesk-sim.as', username);
  document.body.dataset.as = username;
  $('text').placeholder = `Message as @${username} (Enter sends, Shift+Enter: new line)`;
}

const roomTitle = (r) => (r.t === 'd' ? `DM ${(r.usernames ?? []).join(' ↔ ')}` : `#${r.name}`);

function renderRoomSelect(channels, dms) {
  const sel = $('room');
  const all = [...channels, ...dms];
  if (!all.some((r) => r._id === state.room) && all.length) {
    const support = channels.find((r) => /support/.test(r.name)) ?? all[0];
    setRoom(support._id);
  }
  sel.replaceChildren(h('optgroup', { label: 'Channels' }, channels.map((r) => h('option', { value: r._id }, roomTitle(r)))));
  if (dms.length) sel.append(h('optgroup', { label: 'Direct messages' }, dms.map((r) => h('option', { value: r._id }, roomTitle(r)))));
  sel.value = state.room;
}

function setRoom(id) {
  state.room = id;
  localStorage.setItem('dutydesk-sim.room', id);
  const sel = $('room');
  if (sel.value !== id) sel.value = id;
}

/** One card per room, each redrawn only when its own messages changed; the scroll position is kept. */
function renderRoomList(container, kind, rooms, snap) {
  const names = Object.fromEntries(snap.users.map((u) => [u.username, u.name]));
  const wanted = new Set(rooms.map((r) => r._id));
  for (const el of [...container.children]) if (!wanted.has(el.dataset.roomId)) el.remove();
  if (!rooms.length) {
    if (!container.querySelector(':scope > .empty')) container.replaceChildren(h('p', { class: 'empty' }, kind === 'dm' ? 'No direct messages yet.' : 'No channels.'));
    return;
  }
  container.querySelector(':scope > .empty')?.remove();
  rooms.forEach((room, i) => {
    let card = container.querySelector(`:scope > [data-room-id="${CSS.escape(room._id)}"]`);
    if (!card) {
      card = h('article', { class: `room ${kind}`, dataset: { roomId: room._id, roomName: room.name ?? '' } });
      card.append(h('header', {}), h('div', { class: 'messages' }));
      delete state.rendered[`room:${room._id}`];
    }
    if (container.children[i] !== card) container.insertBefore(card, container.children[i] ?? null);
    section(`room:${room._id}`, [room.messages, room.usernames, room.name, room.usersCount], () => drawRoom(card, room, names));
  });
}

function drawRoom(card, room, names) {
  const head = card.querySelector('header');
  head.replaceChildren(h('h2', {}, roomTitle(room)),
    h('span', { class: 'meta' }, `${room.usersCount ?? 0} members · ${room.messages.length} messages`),
    h('button', { type: 'button', class: 'post-here', dataset: { rid: room._id } }, 'post here'));
  const box = card.querySelector('.messages');
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  const top = box.scrollTop;
  const replies = new Map();
  for (const m of room.messages) {
    if (!m.tmid) continue;
    if (!replies.has(m.tmid)) replies.set(m.tmid, []);
    replies.get(m.tmid).push(m);
  }
  const roots = room.messages.filter((m) => !m.tmid);
  const items = roots.map((m) => {
    const thread = replies.get(m._id) ?? [];
    const el = drawMessage(m, names, room);
    if (thread.length || !m.t) {
      el.append(h('div', { class: 'thread', dataset: { tmid: m._id } },
        thread.map((r) => drawMessage(r, names, room)),
        m.t ? null : h('button', { type: 'button', class: 'reply', dataset: { rid: room._id, tmid: m._id } },
          thread.length ? `reply in thread (${thread.length})` : 'reply in thread')));
    }
    return el;
  });
  // Replies whose root is not in the room (moved or deleted roots) are still shown, at the end.
  const orphans = [...replies.entries()].filter(([tmid]) => !roots.some((m) => m._id === tmid)).flatMap(([, xs]) => xs);
  box.replaceChildren(...items, ...orphans.map((m) => drawMessage(m, names, room)));
  if (!items.length && !orphans.length) box.append(h('p', { class: 'empty' }, 'No messages yet.'));
  box.scrollTop = atBottom ? box.scrollHeight : top;
}

function drawMessage(m, names, room) {
  const who = m.u?.username ?? '?';
  const system = !!m.t;
  const el = h('div', {
    class: `msg${system ? ' system' : ''}${m.tmid ? ' reply-msg' : ''}${m.u?.username === 'dutydesk' ? ' bot' : ''}`,
    dataset: { mid: m._id, user: who, ...(m.tmid ? { tmid: m.tmid } : {}) },
  });
  const time = m.ts ? new Date(m.ts) : null;
  el.append(h('div', { class: 'line' },
    h('span', { class: 'who', title: names[who] ?? who }, m.alias || names[who] || who),
    h('span', { class: 'handle' }, `@${who}`),
    time ? h('time', { datetime: m.ts, title: m.ts }, time.toLocaleTimeString()) : null,
    m.editedAt ? h('span', { class: 'edited' }, '(edited)') : null));
  el.append(h('div', { class: 'text' }, system ? systemText(m, names) : formatText(m.msg ?? '')));
  let index = 0;  // buttons are numbered across attachments, as POST /click counts them
  for (const a of m.attachments ?? []) {
    const actions = a.actions ?? [];
    el.append(h('div', { class: 'attachment', style: a.color ? { 'border-left-color': a.color } : null },
      a.title ? h('div', { class: 'att-title' }, a.title) : null,
      a.text ? h('div', { class: 'att-text' }, formatText(a.text)) : null,
      actions.length ? h('div', { class: 'buttons' }, actions.map((b) => h('button', {
        type: 'button', class: 'action', title: b.url ? b.url : (b.msg ? `posts "${b.msg}"` : ''),
        dataset: { mid: m._id, index: String(index++), text: b.text ?? '' },
      }, b.text ?? '(button)'))) : null));
  }
  const reactions = Object.entries(m.reactions ?? {});
  if (reactions.length) {
    el.append(h('div', { class: 'reactions' }, reactions.map(([emoji, r]) => h('span', {
      class: 'reaction', title: `${emoji} by ${(r.usernames ?? []).map((u) => '@' + u).join(', ')}`,
      dataset: { emoji, users: (r.usernames ?? []).join(' ') },
    }, EMOJI[emoji] ? h('span', { class: 'glyph' }, EMOJI[emoji]) : null, h('span', { class: 'name' }, emoji),
    h('span', { class: 'count' }, String((r.usernames ?? []).length))))));
  }
  if (room.t !== 'd' && !m.tmid && m.tcount) el.dataset.replies = String(m.tcount);
  return el;
}

function systemText(m, names) {
  const who = names[m.u?.username] ?? m.u?.username ?? 'someone';
  const what = {
    uj: 'joined the room', ul: 'left the room', au: `added @${m.msg}`, ru: `removed @${m.msg}`, ut: 'joined the thread',
    room_changed_topic: `changed the topic to ${m.msg}`, rm: 'message removed',
  }[m.t];
  return what ? `${who} ${what}` : `${m.t}${m.msg ? ': ' + m.msg : ''}`;
}

/**
 * A message's text as nodes: [label](url) and bare http(s) URLs become links, `code` is code, @user and #room are
 * highlighted, *bold* is bold. Anything else stays literal text.
 */
function formatText(text) {
  const out = [];
  const re = /\[([^\]]*)\]\((https?:\/\/[^\s)]+)\)|(https?:\/\/[^\s<>)]+)|`([^`\n]+)`|(^|[\s(])(@[\w.\-]*[\w\-])|(^|[\s(])(#[\w.\-]*[\w\-])|\*([^*\n]+)\*/g;
  let last = 0;
  for (let m; (m = re.exec(text));) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (m[2]) out.push(h('a', { href: m[2], target: '_blank', rel: 'noopener noreferrer' }, m[1].trim() || '↪ link'));
    else if (m[3]) out.push(h('a', { href: m[3], target: '_blank', rel: 'noopener noreferrer' }, m[3]));
    else if (m[4]) out.push(h('code', {}, m[4]));
    else if (m[6]) out.push(m[5], h('span', { class: 'mention', dataset: { mention: m[6].slice(1) } }, m[6]));
    else if (m[8]) out.push(m[7], h('span', { class: 'channel-ref' }, m[8]));
    else if (m[9]) out.push(h('strong', {}, m[9]));
    last = re.lastIndex;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

function renderOncall(schedules, users) {
  const byId = Object.fromEntries(users.map((u) => [u.id, u]));
  const box = $('oncall');
  if (!schedules.length) return box.replaceChildren(h('p', { class: 'empty' }, 'No schedules.'));
  box.replaceChildren(h('ul', { class: 'oncall' }, schedules.map((s) => h('li', { dataset: { schedule: s.id } },
    h('span', { class: 'sched' }, s.name), h('span', { class: 'sched-id' }, s.id),
    h('span', { class: 'now' }, (s.on_call_now ?? []).length
      ? s.on_call_now.map((id) => h('span', { class: 'person', dataset: { username: byId[id]?.username ?? id } },
        byId[id] ? `${byId[id].name || byId[id].username} (${byId[id].username})` : id))
      : h('span', { class: 'gap' }, 'nobody: a gap in the rota'))))));
}

function renderJira(flavors) {
  const box = $('jira');
  const open = new Set([...box.querySelectorAll('.issue details[open]')].map((d) => d.closest('.issue').dataset.key));
  const shown = flavors.filter((f, i) => i === 0 || f.issues.length);
  box.replaceChildren(...shown.map((f) => {
    const display = Object.fromEntries(f.users.map((u) => [u.name, u.displayName || u.name]));
    // The workflow's statuses are the columns (new, then in progress, then done; seed order within each).
    const statuses = new Map(f.statuses.map((x) => [x.name, x]));
    for (const i of f.issues) if (!statuses.has(i.status.name)) statuses.set(i.status.name, i.status);
    const columns = [...statuses.values()].map((x, n) => [x, n]).sort(([a, na], [b, nb]) =>
      (STATUS_CATEGORY_ORDER[a.category] ?? 1) - (STATUS_CATEGORY_ORDER[b.category] ?? 1) || na - nb).map(([x]) => x);
    return h('section', { class: 'board', dataset: { system: f.system } },
      h('h2', {}, f.title, h('small', {}, ` ${f.issues.length} issues`)),
      f.projects.map((p) => {
        const issues = f.issues.filter((i) => i.project === p.key);
        return h('div', { class: 'project', dataset: { project: p.key } },
          h('h3', {}, `${p.key} · ${p.name}`, h('small', {}, ` lead ${display[p.lead] ?? p.lead}`)),
          issues.length
            ? h('div', { class: 'columns', style: { '--cols': String(columns.length) } }, columns.map((s) => h('div', {
              class: `column cat-${s.category}`, dataset: { status: s.name },
            }, h('h4', {}, s.name, h('small', {}, ` ${issues.filter((i) => i.status.name === s.name).length}`)),
            issues.filter((i) => i.status.name === s.name).map((i) => drawIssue(i, display)))))
            : h('p', { class: 'empty' }, 'No issues yet.'));
      }));
  }));
  for (const d of box.querySelectorAll('.issue details')) if (open.has(d.closest('.issue').dataset.key)) d.open = true;
}

function drawIssue(i, display) {
  const comments = i.comments ?? [];
  return h('div', { class: `issue cat-${i.status.category}`, dataset: { key: i.key, status: i.status.name, assignee: i.assignee ?? '' } },
    h('div', { class: 'issue-head' }, h('span', { class: 'key' }, i.key),
      h('span', { class: `status cat-${i.status.category}` }, i.status.name)),
    h('div', { class: 'summary' }, i.summary),
    h('div', { class: 'people' },
      h('span', { class: 'assignee' }, i.assignee ? `→ ${display[i.assignee] ?? i.assignee}` : 'unassigned'),
      h('span', { class: 'reporter' }, ` · by ${display[i.reporter] ?? i.reporter}`),
      i.resolution ? h('span', { class: 'resolution' }, ` · ${i.resolution}`) : null),
    comments.length ? h('details', { class: 'comments' },
      h('summary', {}, `${comments.length} comment${comments.length === 1 ? '' : 's'}`),
      comments.map((c) => h('div', { class: 'comment' }, h('b', {}, display[c.author] ?? c.author), ': ', c.body ?? ''))) : null);
}

// -- acting --------------------------------------------------------------------------------------------------------

function setReplyTo(rid, tmid) {
  const room = state.snapshot?.rooms.find((r) => r._id === rid);
  const root = room?.messages.find((m) => m._id === tmid);
  state.replyTo = tmid ? { rid, tmid } : null;
  if (rid) setRoom(rid);
  $('reply-to').hidden = !tmid;
  $('reply-to-text').textContent = root ? `${root.u?.username}: ${(root.msg ?? '').slice(0, 60)}` : '';
  document.body.dataset.replyTo = tmid ?? '';
  $('text').focus();
}

async function send(ev) {
  ev.preventDefault();
  const text = $('text').value;
  if (!text.trim()) return;
  const body = { as: state.as, room: state.room, text };
  if (state.replyTo && state.replyTo.rid === state.room) body.tmid = state.replyTo.tmid;
  $('send').disabled = true;
  try {
    await call('POST', '/rocketchat/messages', body);
    $('text').value = '';
    notice(`@${state.as} posted ${body.tmid ? 'in the thread' : 'in ' + ($('room').selectedOptions[0]?.textContent ?? 'the room')}`);
    refreshNow();
  } catch (e) {
    notice(e.message, true);
  } finally {
    $('send').disabled = false;
  }
}

async function clickButton(btn) {
  const label = btn.dataset.text;
  try {
    const r = await call('POST', '/rocketchat/click', { as: state.as, message_id: btn.dataset.mid, button: Number(btn.dataset.index) });
    if (r.opened_url) {
      window.open(r.opened_url, '_blank', 'noopener');
      notice(`@${state.as} clicked "${label}": it opens ${r.opened_url}`);
    } else if (r.composer !== undefined) {
      $('text').value = r.composer;
      notice(`@${state.as} clicked "${label}": the text is in the composer`);
    } else {
      notice(`@${state.as} clicked "${label}"${r.posted ? '' : r.reacted ? ' (a reaction)' : ''}`);
    }
    refreshNow();
  } catch (e) {
    notice(`@${state.as} clicked "${label}": ${e.message}`, true);
  }
}

function wire() {
  setAs(state.as);
  $('as-user').addEventListener('change', (e) => { setAs(e.target.value); notice(`acting as @${state.as}`); });
  $('room').addEventListener('change', (e) => { setRoom(e.target.value); if (state.replyTo?.rid !== state.room) setReplyTo(null, null); });
  $('reply-cancel').addEventListener('click', () => setReplyTo(null, null));
  $('composer').addEventListener('submit', send);
  $('text').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); $('composer').requestSubmit(); }
  });
  // One listener for every button the sections draw, so a redraw never loses a handler.
  document.addEventListener('click', (e) => {
    const btn = e.target.closest('button');
    if (!btn) return;
    if (btn.classList.contains('action')) clickButton(btn);
    else if (btn.classList.contains('reply')) setReplyTo(btn.dataset.rid, btn.dataset.tmid);
    else if (btn.classList.contains('post-here')) setReplyTo(btn.dataset.rid, null);
  });
  poll();
}

wire();
