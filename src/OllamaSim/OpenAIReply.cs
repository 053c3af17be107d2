using System.Text.Json;

namespace OllamaSim;

/// <summary>
/// One request's answer once its prompt is processed, and how it is written: whole, or as the chunks of a stream.
/// <see cref="Prompt"/> and <see cref="Generation"/> count from the moment the request held a KV-cache slot, so
/// llama.cpp's timings leave out the queue wait as llama.cpp's do (tools/server/server-task.cpp result_timings).
/// </summary>
internal sealed class OpenAIReply(
    OpenAIRequest request, string model, int promptTokens, TimeSpan prompt, LimitedAnswer answer, ServerFlavor flavor, TimeProvider time)
{
    private readonly long _created = time.GetUtcNow().ToUnixTimeSeconds();

    private static OpenAIJsonContext Json => OpenAIJsonContext.Wire;

    public OpenAIRequest Request { get; } = request;

    public LimitedAnswer Answer { get; } = answer;

    public TimeSpan Prompt { get; } = prompt;

    /// <summary>Set once generation has finished.</summary>
    public TimeSpan Generation { get; set; }

    /// <summary>vLLM's ids: chatcmpl- or cmpl- and a random UUID's hex.</summary>
    private string Id { get; } = (request.Chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N");

    private OpenAIUsage Usage => new(promptTokens, promptTokens + Answer.OutputTokens, Answer.OutputTokens);

    private LlamaCppTimings? Timings => flavor == ServerFlavor.LlamaCpp ? LlamaCppTimings() : null;

    /// <summary>The whole answer: a chat.completion or a text_completion.</summary>
    public byte[] Whole() => Request.Chat
        ? JsonSerializer.SerializeToUtf8Bytes(
            new OpenAIChatCompletion(Id, _created, model, [new OpenAIChatChoice(0, new OpenAIMessage("assistant", Answer.Text), Answer.DoneReason)], Usage)
            { Timings = Timings },
            Json.OpenAIChatCompletion)
        : JsonSerializer.SerializeToUtf8Bytes(
            new OpenAITextCompletion(Id, _created, model, [new OpenAITextChoice(0, Answer.Text, Answer.DoneReason)], Usage)
            { Timings = Timings },
            Json.OpenAITextCompletion);

    /// <summary>A chat stream's first chunk: the role, with no content yet (text completions start with their first token).</summary>
    public byte[] First() => Chunk(new OpenAIDelta("assistant", ""), "", finishReason: null);

    public byte[] Token(string piece) => Chunk(new OpenAIDelta(null, piece), piece, finishReason: null);

    /// <summary>The chunk with the finish reason and an empty delta; llama.cpp puts its timings on it.</summary>
    public byte[] Finish() => Chunk(new OpenAIDelta(null, null), "", Answer.DoneReason);

    /// <summary>The usage chunk stream_options.include_usage asks for: no choices, only the usage.</summary>
    public byte[] UsageChunk() => Request.Chat
        ? JsonSerializer.SerializeToUtf8Bytes(new OpenAIChatChunk(Id, _created, model, []) { Usage = Usage }, Json.OpenAIChatChunk)
        : JsonSerializer.SerializeToUtf8Bytes(new OpenAITextChunk(Id, _created, model, []) { Usage = Usage }, Json.OpenAITextChunk);

    private byte[] Chunk(OpenAIDelta delta, string text, string? finishReason)
    {
        var timings = finishReason is null ? null : Timings;
        return Request.Chat
            ? JsonSerializer.SerializeToUtf8Bytes(
                new OpenAIChatChunk(Id, _created, model, [new OpenAIChatChunkChoice(0, delta, finishReason)]) { Timings = timings },
                Json.OpenAIChatChunk)
            : JsonSerializer.SerializeToUtf8Bytes(
                new OpenAITextChunk(Id, _created, model, [new OpenAITextChunkChoice(0, text, finishReason)]) { Timings = timings },
                Json.OpenAITextChunk);
    }

    private LlamaCppTimings LlamaCppTimings()
    {
        var promptMs = Prompt.TotalMilliseconds;
        var predictedMs = Generation.TotalMilliseconds;
        var predicted = Answer.OutputTokens;
        return new LlamaCppTimings(
            CacheN: 0,
            PromptN: promptTokens,
            PromptMs: promptMs,
            PromptPerTokenMs: promptMs / promptTokens,
            PromptPerSecond: promptMs > 0 ? 1e3 / promptMs * promptTokens : 0,
            PredictedN: predicted,
            PredictedMs: predictedMs,
            PredictedPerTokenMs: predictedMs / predicted,
            PredictedPerSecond: predictedMs > 0 ? 1e3 / predictedMs * predicted : 0);
    }
}
