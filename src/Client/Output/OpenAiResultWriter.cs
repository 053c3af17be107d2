using System.Buffers;
using System.Text;
using System.Text.Json;

namespace OrleansLlm.Client.Output;

/// <summary>
/// Writes results as an OpenAI batch output file: one
/// <c>{"id","custom_id","response":{"status_code":200,"request_id","body"},"error":null}</c> per result, the body a
/// <c>chat.completion</c> (answers from Ollama's chat) or a <c>text_completion</c> (answers from a prompt), with
/// <c>usage</c> from Ollama's token counts.
/// </summary>
/// <remarks>The <c>custom_id</c> is the item's id, so any batch can be written this way, not only one read from an OpenAI file.</remarks>
public static class OpenAiResultWriter
{
    public const string Format = "openai";

    /// <returns>How many results were written.</returns>
    public static async Task<int> WriteAsync(IAsyncEnumerable<string> results, TextWriter output, CancellationToken cancellationToken)
    {
        var count = 0;
        await foreach (var json in results.WithCancellation(cancellationToken))
        {
            await output.WriteLineAsync(Line(ResultDocument.Read(json)));
            count++;
        }

        return count;
    }

    /// <summary>One output line for one result.</summary>
    public static string Line(ResultView result)
    {
        var hash = OpenAiBatchIds.Of(result.Batch, result.Id);
        var chat = result.Endpoint == ResultDocument.ChatEndpoint;
        var usage = result.Usage ?? TokenUsage.Zero;
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer, JsonText.WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("id", OpenAiBatchIds.Line(hash));
            w.WriteString("custom_id", result.Id);
            w.WriteStartObject("response");
            w.WriteNumber("status_code", 200);
            w.WriteString("request_id", hash);
            w.WriteStartObject("body");
            w.WriteString("id", chat ? $"chatcmpl-{hash}" : $"cmpl-{hash}");
            w.WriteString("object", chat ? "chat.completion" : "text_completion");
            w.WriteNumber("created", (result.CompletedAt ?? DateTimeOffset.UnixEpoch).ToUnixTimeSeconds());
            w.WriteString("model", result.Model);
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            if (chat)
            {
                w.WriteStartObject("message");
                w.WriteString("role", "assistant");
                w.WriteString("content", result.Answer);
                w.WriteNull("refusal");
                w.WriteEndObject();
            }
            else
            {
                w.WriteString("text", result.Answer);
            }

            w.WriteNull("logprobs");
            // Ollama says "length" when num_predict cut the answer, as OpenAI does for max_tokens.
            w.WriteString("finish_reason", result.DoneReason == "length" ? "length" : "stop");
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteStartObject("usage");
            w.WriteNumber("prompt_tokens", usage.PromptTokens);
            w.WriteNumber("completion_tokens", usage.CompletionTokens);
            w.WriteNumber("total_tokens", usage.TotalTokens);
            w.WriteEndObject();
            w.WriteNull("system_fingerprint");
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteNull("error");
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
