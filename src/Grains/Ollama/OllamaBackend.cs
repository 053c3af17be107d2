using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.Options;
using OllamaSharp;
using OllamaSharp.Models;
using OrleansLlm.Inference;
using OrleansLlm.Options;
using OrleansLlm.Telemetry;

namespace OrleansLlm.Ollama;

/// <summary>Calls the silo's co-located Ollama, non-streaming; each call is measured and traced.</summary>
/// <remarks>
/// Questions go as plain HTTP with hand-written JSON (<see cref="OllamaRequestJson"/>, <see cref="OllamaAnswer"/>):
/// they are the silo's busiest path, and OllamaSharp's streaming reader, its response types and generate's
/// <c>context</c> array were half of what a silo allocated per item. The model list and the probe stay on OllamaSharp.
/// </remarks>
public sealed class OllamaBackend(HttpClient http, IOptions<OllamaOptions> options, InferenceMetrics metrics, TimeProvider time) : IInferenceBackend
{
    private readonly OllamaApiClient _client = new(http, options.Value.TaggedModel);

    // The JSON of each batch's options in Ollama's form, by the very instance the batch's requests carry (OptionsJsonFor).
    private readonly ConditionalWeakTable<GenerationOptions, byte[]> _optionsJson = new();

    // The options of a request without any of its own: the silo's num_thread alone. Written on first use; a race
    // writes the same bytes twice.
    private byte[]? _siloOptionsJson;

    private readonly OllamaOptions _settings = options.Value;

    /// <summary>The model, always with its tag (<c>:latest</c> when configured without one).</summary>
    public string Model => options.Value.TaggedModel;

    public Uri Url => http.BaseAddress!;

    /// <summary>Asks Ollama one question: <c>/api/chat</c> for messages, else <c>/api/generate</c>; never streamed.</summary>
    public async Task<Generation> GenerateAsync(InferenceRequest request, CancellationToken cancellationToken)
    {
        using var span = OrleansLlmActivities.StartGeneration(request.Model, Url);
        var started = time.GetTimestamp();
        Generation generation;
        try
        {
            generation = request.IsChat
                ? await ChatAsync(request, cancellationToken).ConfigureAwait(false)
                : await GenerateOnceAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            var reason = BackendFailureReasons.Of(ex);
            metrics.Failed(time.GetElapsedTime(started), request.Model, Url, reason);
            span.SetFailure(reason, ex.Message);
            throw;
        }

        metrics.Answered(generation, time.GetElapsedTime(started), request.Model, Url);
        span?.SetTag(GenAiAttributes.InputTokens, generation.PromptEvalCount)
            .SetTag(GenAiAttributes.OutputTokens, generation.EvalCount);
        return generation;
    }

    private Task<Generation> GenerateOnceAsync(InferenceRequest request, CancellationToken cancellationToken) =>
        AskAsync("api/generate", OllamaRequestJson.Generate(request, OptionsJsonFor(request.Options)), cancellationToken);

    private Task<Generation> ChatAsync(InferenceRequest request, CancellationToken cancellationToken) =>
        AskAsync("api/chat", OllamaRequestJson.Chat(request, OptionsJsonFor(request.Options)), cancellationToken);

    /// <summary>Posts one non-streamed request and reads the one object Ollama answers it with.</summary>
    /// <remarks>
    /// The whole answer is read before this returns (<see cref="HttpCompletionOption.ResponseContentRead"/>), as
    /// OllamaSharp did: <c>Ollama:RequestTimeout</c> (the client's timeout) then covers the body too, and a body cut
    /// off fails the send as an <see cref="HttpRequestException"/> without a status.
    /// </remarks>
    private async Task<Generation> AskAsync(string path, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ReadOnlyMemoryContent(body) };
        message.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json; charset=utf-8");
        using var response = await http.SendAsync(message, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw await RefusalAsync(response, cancellationToken).ConfigureAwait(false);
        }

        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var answer = await ReadAnswerAsync(stream, response.Content.Headers.ContentLength, cancellationToken).ConfigureAwait(false);
        return answer.Done ? answer.ToGeneration() : throw NoDone();
    }

    /// <summary>The answer in a buffer of the pool's: the body is read once and dropped, its <c>context</c> never kept.</summary>
    private static async Task<OllamaAnswer> ReadAnswerAsync(Stream stream, long? length, CancellationToken cancellationToken)
    {
        using var body = new PooledBufferWriter(length is > 0 and < int.MaxValue / 2 ? (int)length.Value : 4096);
        int read;
        while ((read = await stream.ReadAsync(body.GetMemory(), cancellationToken).ConfigureAwait(false)) > 0)
        {
            body.Advance(read);
        }

        return OllamaAnswer.Read(body.WrittenSpan);
    }

    /// <summary>
    /// An error status as the worker classes it (<c>ItemProcessor.Classify</c>): an <see cref="HttpRequestException"/>
    /// with the status, its message with Ollama's own words (<c>{"error": "…"}</c>).
    /// </summary>
    private async Task<HttpRequestException> RefusalAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = response.StatusCode;
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        return new HttpRequestException($"Ollama at {Url} answered HTTP {(int)status} ({status}): {ErrorText(body)}", null, status);
    }

    private static string ErrorText(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String)
            {
                return error.GetString()!;
            }
        }
        catch (JsonException)
        {
            // Not Ollama's error object (a proxy's page, say): its text, shortened, says more than nothing.
        }

        return body.Length <= 200 ? body : body[..200];
    }

    /// <summary>
    /// The batch's options beside the silo's <c>num_thread</c>, as the JSON of Ollama's options object. Every request
    /// carries the same <c>num_thread</c>: Ollama reloads the model when a request's runner options change.
    /// </summary>
    private byte[]? OptionsJsonFor(GenerationOptions? options)
    {
        if ((options is null || options.IsEmpty) && _settings.NumThreads is null)
        {
            return null;
        }

        // A batch's options are one instance for all its items (the worker keeps its spec), so each is converted and
        // written once rather than on every request.
        return options is null
            ? _siloOptionsJson ??= JsonSerializer.SerializeToUtf8Bytes(new RequestOptions { NumThread = _settings.NumThreads }, JsonText.SerializerOptions)
            : _optionsJson.TryGetValue(options, out var json) ? json : _optionsJson.GetValue(options, ToOptionsJson);
    }

    // GenerationOptions in JSON is Ollama's options object (SpecJson), which RequestOptions reads by the same names:
    // an option a batch can set reaches Ollama without a line here. RequestOptions writes it with Ollama's names and
    // without the options left unset, as OllamaSharp sent it.
    private byte[] ToOptionsJson(GenerationOptions options)
    {
        var request = JsonSerializer.Deserialize<RequestOptions>(JsonSerializer.SerializeToUtf8Bytes(options, SpecJson.Options), SpecJson.Options)!;
        request.NumThread = _settings.NumThreads;
        return JsonSerializer.SerializeToUtf8Bytes(request, JsonText.SerializerOptions);
    }

    /// <summary>The models Ollama has (<c>/api/tags</c>), as it names them.</summary>
    public async Task<IReadOnlyList<string>> ListModelsAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.ProbeTimeout);
        return (await _client.ListLocalModelsAsync(timeout.Token).ConfigureAwait(false)).Select(m => m.Name).ToArray();
    }

    /// <summary>
    /// Checks that Ollama lists the model (<c>/api/tags</c>) and answers a one-token request: what a broken backend
    /// (down, out of memory, without its model) fails, and a working one passes however busy it is.
    /// </summary>
    public async Task<BackendProbe> ProbeAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.ProbeTimeout);
        try
        {
            var models = await _client.ListLocalModelsAsync(timeout.Token).ConfigureAwait(false);
            if (!models.Any(m => ModelNames.Same(m.Name, Model)))
            {
                return new BackendProbe($"Ollama at {Url} does not have the model {Model}");
            }

            // The silo's num_thread too, so a probe never makes Ollama reload the model.
            var request = new GenerateRequest
            {
                Model = Model,
                Prompt = "Say OK.",
                Stream = false,
                Options = new RequestOptions { NumPredict = 1, NumThread = _settings.NumThreads },
            };
            await foreach (var chunk in _client.GenerateAsync(request, timeout.Token).ConfigureAwait(false))
            {
                if (chunk is GenerateDoneResponseStream { Done: true })
                {
                    return new BackendProbe(null);
                }
            }

            return new BackendProbe($"Ollama at {Url} cut its answer off");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new BackendProbe($"Ollama at {Url} did not answer within {options.Value.ProbeTimeout.TotalSeconds:0} s");
        }
        catch (HttpRequestException ex)
        {
            return new BackendProbe(ex.StatusCode is { } status
                ? $"Ollama at {Url} answered HTTP {(int)status}"
                : $"Ollama at {Url} is unreachable: {ex.Message}");
        }
    }

    private static BackendResponseException NoDone() => new("Ollama's response ended without \"done\": true");
}
