// i18n.js: the one message formatter of the front end, the browser's copy of
// internal/i18n: {name} placeholders and {name|one|other} plural forms ("one"
// when the value is the number 1, "other" for anything else), so en can say
// "{n} {n|pupil|pupils}" and zh-CN simply "{n} 名学生". Every page's
// translator (bank_common.js, campaign_msgs.js, contest_live.js, roster.js,
// dash_charts.js) is built with translator below.

// format fills msg's placeholders from params in one pass (a value is never
// read as a placeholder itself); a placeholder without a param stays as it is.
export function format(msg, params = {}) {
  return msg.replace(/\{(\w+)(?:\|([^|}]*)\|([^}]*))?\}/g, (m, name, one, other) => {
    if (!Object.hasOwn(params, name)) return m;
    const text = String(params[name]);
    if (one === undefined) return text;
    return text === '1' ? one : other;
  });
}

// translator reads the messages a page embeds as JSON in the element with
// id and returns t(key, params): the message prefix + key, formatted. A
// missing key shows the key, never user data as HTML (callers set text).
export function translator(id, prefix = '') {
  const box = document.getElementById(id);
  const all = box ? JSON.parse(box.textContent) : {};
  return (key, params = {}) => format(all[prefix + key] ?? key, params);
}
