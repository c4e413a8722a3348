// Calls a Lyumen gateway through the official JavaScript SDKs (openai,
// @anthropic-ai/sdk), changing nothing but the base URL and the key, and
// prints what each call gave as one JSON object on stdout. A call that
// fails gives {"error": …} in its place; the script itself fails only when
// it is called wrongly.
//
//	node conformance.mjs http://127.0.0.1:8080 --model lyumen-demo
//
// --model serves every call that has no model of its own: --tool-model
// (one that answers the weather question with a call to get_weather),
// --claude-model, --claude-tool-model and --embedding-model.
import { parseArgs } from 'node:util'
import OpenAI from 'openai'
import Anthropic from '@anthropic-ai/sdk'

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    model: { type: 'string', default: 'lyumen-demo' },
    'tool-model': { type: 'string' },
    'claude-model': { type: 'string' },
    'claude-tool-model': { type: 'string' },
    'embedding-model': { type: 'string' },
    'api-key': { type: 'string', default: 'anything' },
  },
})
if (positionals.length !== 1) {
  process.stderr.write('usage: node conformance.mjs BASE_URL [--model M] [--api-key K] …\n')
  process.exit(2)
}
const base = positionals[0].replace(/\/+$/, '')
const model = opt.model
const toolModel = opt['tool-model'] ?? model
const claudeModel = opt['claude-model'] ?? model
const claudeToolModel = opt['claude-tool-model'] ?? claudeModel
const embeddingModel = opt['embedding-model'] ?? model

// As a user configures them: the base URL and any key; no retries, so that
// a failure shows at once.
const openai = new OpenAI({ baseURL: base + '/v1', apiKey: opt['api-key'], maxRetries: 0, timeout: 20_000 })
const anthropic = new Anthropic({ baseURL: base, apiKey: opt['api-key'], maxRetries: 0, timeout: 20_000 })

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city.',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
}
const weatherQuestion = "What's the weather in Paris? Use the tool."

const results = {}

// run stores what f returns under name, or the error it threw.
async function run(name, f) {
  try {
    results[name] = await f()
  } catch (err) {
    results[name] = { error: describe(err) }
  }
}

function describe(err) {
  return {
    class: err?.constructor?.name, status: err?.status, message: String(err?.message ?? err),
    type: err?.type ?? err?.error?.type ?? err?.error?.error?.type,
  }
}

await run('chat', async () => {
  const r = await openai.chat.completions.create({
    model, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello from javascript' }],
  })
  return { id: r.id, object: r.object, text: r.choices[0].message.content, finish_reason: r.choices[0].finish_reason, usage: r.usage, request_id: r._request_id }
})

await run('chat_stream', async () => {
  const stream = await openai.chat.completions.create({
    model, stream: true, stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'stream from javascript' }],
  })
  let text = '', finish = null, usage = null, chunks = 0
  for await (const chunk of stream) {
    chunks++
    for (const c of chunk.choices) {
      text += c.delta?.content ?? ''
      finish = c.finish_reason ?? finish
    }
    usage = chunk.usage ?? usage
  }
  return { text, finish_reason: finish, usage, chunks }
})

// A tool call and its result going back: the SDK's message, appended as it
// came, then the tool's answer.
await run('tool_call', async () => {
  const messages = [{ role: 'user', content: weatherQuestion }]
  const r = await openai.chat.completions.create({ model: toolModel, messages, tools: [weatherTool] })
  const msg = r.choices[0].message
  const call = msg.tool_calls?.[0]
  if (!call) return { finish_reason: r.choices[0].finish_reason, text: msg.content }
  messages.push(msg, { role: 'tool', tool_call_id: call.id, content: 'Sunny, 21 °C.' })
  messages.push({ role: 'user', content: 'Thanks, and in one word?' })
  const answer = await openai.chat.completions.create({ model, messages, tools: [weatherTool] })
  return {
    finish_reason: r.choices[0].finish_reason, id: call.id, name: call.function.name,
    arguments: JSON.parse(call.function.arguments), answer: answer.choices[0].message.content,
  }
})

// The same call streamed, assembled by the SDK's ChatCompletionStream.
await run('tool_call_stream', async () => {
  const stream = openai.chat.completions.stream({
    model: toolModel, messages: [{ role: 'user', content: weatherQuestion }], tools: [weatherTool],
  })
  const r = await stream.finalChatCompletion()
  const call = r.choices[0].message.tool_calls?.[0]
  return {
    finish_reason: r.choices[0].finish_reason, id: call?.id, name: call?.function.name,
    arguments: call && JSON.parse(call.function.arguments),
  }
})

await run('responses', async () => {
  const r = await openai.responses.create({ model, instructions: 'Be brief.', input: 'respond from javascript' })
  return { id: r.id, object: r.object, status: r.status, output_text: r.output_text, usage: r.usage }
})

await run('responses_stream', async () => {
  const stream = openai.responses.stream({ model, input: 'stream a response from javascript' })
  let deltas = ''
  const types = []
  for await (const ev of stream) {
    types.push(ev.type)
    if (ev.type === 'response.output_text.delta') deltas += ev.delta
  }
  const r = await stream.finalResponse()
  return { deltas, output_text: r.output_text, status: r.status, usage: r.usage, first: types[0], last: types.at(-1) }
})

await run('completions', async () => {
  const r = await openai.completions.create({ model, prompt: 'complete from javascript', max_tokens: 16 })
  return { object: r.object, text: r.choices[0].text, finish_reason: r.choices[0].finish_reason, usage: r.usage }
})

await run('embeddings_float', async () => {
  const r = await openai.embeddings.create({ model: embeddingModel, input: ['the quick brown fox', 'jumps'], encoding_format: 'float' })
  return { vectors: r.data.map(d => d.embedding), usage: r.usage }
})

// The SDK asks for base64 unless told otherwise, and decodes it.
await run('embeddings_default', async () => {
  const r = await openai.embeddings.create({ model: embeddingModel, input: ['the quick brown fox', 'jumps'] })
  return { vectors: r.data.map(d => Array.from(d.embedding)), usage: r.usage }
})

await run('models', async () => {
  const ids = []
  for await (const m of openai.models.list()) ids.push(m.id)
  const one = await openai.models.retrieve(model)
  return { ids, retrieved: one.id, object: one.object }
})

await run('unknown_model', async () => {
  try {
    await openai.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] })
  } catch (err) {
    return { ...describe(err), not_found: err instanceof OpenAI.NotFoundError }
  }
  return { error: 'no error' }
})

await run('messages', async () => {
  const m = await anthropic.messages.create({
    model: claudeModel, max_tokens: 256, system: 'Be brief.',
    messages: [{ role: 'user', content: 'hello claude from javascript' }],
  })
  return { id: m.id, type: m.type, text: m.content.map(b => b.text ?? '').join(''), stop_reason: m.stop_reason, usage: m.usage, request_id: m._request_id }
})

await run('messages_stream', async () => {
  let deltas = ''
  const stream = anthropic.messages.stream({
    model: claudeModel, max_tokens: 256, messages: [{ role: 'user', content: 'stream claude from javascript' }],
  }).on('text', t => { deltas += t })
  const m = await stream.finalMessage()
  return { deltas, text: m.content.map(b => b.text ?? '').join(''), stop_reason: m.stop_reason, usage: m.usage }
})

// A tool_use streamed: the SDK assembles its input from the JSON deltas.
await run('messages_tool_stream', async () => {
  const m = await anthropic.messages.stream({
    model: claudeToolModel, max_tokens: 256, messages: [{ role: 'user', content: weatherQuestion }],
    tools: [{ name: 'get_weather', input_schema: weatherTool.function.parameters }],
  }).finalMessage()
  const use = m.content.find(b => b.type === 'tool_use')
  return { stop_reason: m.stop_reason, id: use?.id, name: use?.name, input: use?.input }
})

// Each SDK's stream assembler over the other provider's upstream: the
// gateway's translated event sequences must satisfy it too.
await run('messages_stream_translated', async () => {
  const m = await anthropic.messages.stream({
    model, max_tokens: 256, messages: [{ role: 'user', content: 'translate claude from javascript' }],
  }).finalMessage()
  return { text: m.content.map(b => b.text ?? '').join(''), stop_reason: m.stop_reason, usage: m.usage }
})

await run('tool_call_stream_translated', async () => {
  const r = await openai.chat.completions.stream({
    model: claudeToolModel, messages: [{ role: 'user', content: weatherQuestion }], tools: [weatherTool],
  }).finalChatCompletion()
  const call = r.choices[0].message.tool_calls?.[0]
  return {
    finish_reason: r.choices[0].finish_reason, text: r.choices[0].message.content, id: call?.id,
    name: call?.function.name, arguments: call && JSON.parse(call.function.arguments),
  }
})

await run('count_tokens', async () => {
  const r = await anthropic.messages.countTokens({ model: claudeModel, messages: [{ role: 'user', content: 'count me' }] })
  return { input_tokens: r.input_tokens }
})

await run('claude_models', async () => {
  const ids = []
  for await (const m of anthropic.models.list()) ids.push(m.id)
  const one = await anthropic.models.retrieve(claudeModel)
  return { ids, retrieved: one.id, type: one.type }
})

await run('claude_unknown_model', async () => {
  try {
    await anthropic.messages.create({ model: 'no-such-model', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
  } catch (err) {
    return { ...describe(err), not_found: err instanceof Anthropic.NotFoundError }
  }
  return { error: 'no error' }
})

process.stdout.write(JSON.stringify(results) + '\n')
