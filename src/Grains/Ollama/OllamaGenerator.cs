using System.Text;
using Microsoft.Extensions.Options;
using OllamaSharp;
using OllamaSharp.Models;
using OrleansLlm.Options;

namespace OrleansLlm.Ollama;

/// <summary>One answer from Ollama with the figures it reports about the work.</summary>
/// <param name="TotalDuration">Ollama's <c>total_duration</c>.</param>
/// <param name="EvalCount">Ollama's <c>eval_count</c>: tokens generated.</param>
/// <param name="EvalDuration">Ollama's <c>eval_duration</c>.</param>
public sealed record Generation(string Text, TimeSpan TotalDuration, int EvalCount, TimeSpan EvalDuration);

/// <summary>Thrown when Ollama answers but the answer is unusable, e.g. it lacks <c>"done": true</c>.</summary>
public sealed class OllamaResponseException(string message) : Exception(message);

/// <summary>Calls the silo's co-located Ollama through OllamaSharp, non-streaming.</summary>
public sealed class OllamaGenerator(HttpClient http, IOptions<OllamaOptions> options)
{
    private readonly OllamaApiClient _client = new(http, options.Value.Model);

    public string Model => options.Value.Model;

    public Uri Url => http.BaseAddress!;

    public async Task<Generation> GenerateAsync(string prompt, CancellationToken cancellationToken)
    {
        var request = new GenerateRequest { Model = Model, Prompt = prompt, Stream = false };
        var text = new StringBuilder();
        GenerateDoneResponseStream? done = null;
        await foreach (var chunk in _client.GenerateAsync(request, cancellationToken).ConfigureAwait(false))
        {
            text.Append(chunk?.Response);
            if (chunk is GenerateDoneResponseStream { Done: true } final)
            {
                done = final;
            }
        }

        if (done is null)
        {
            throw new OllamaResponseException("Ollama's response ended without \"done\": true");
        }

        return new Generation(text.ToString(), FromNanoseconds(done.TotalDuration), done.EvalCount, FromNanoseconds(done.EvalDuration));
    }

    private static TimeSpan FromNanoseconds(long ns) => TimeSpan.FromTicks(ns / 100);
}
