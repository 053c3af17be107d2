using System.Buffers;
using System.Text;
using System.Text.Json;

namespace OrleansLlm.Client.Output;

/// <summary>
/// Writes dead letters as an OpenAI batch error file: one
/// <c>{"id","custom_id","response":null,"error":{"code","message"}}</c> per dead-lettered item, the counterpart of
/// <see cref="OpenAiResultWriter"/>'s output.
/// </summary>
public static class OpenAiErrorWriter
{
    /// <summary>The answer broke the batch's format twice.</summary>
    public const string InvalidAnswerCode = "invalid_structured_output";

    /// <summary>Ollama failed on the item as many times as <c>Queue:MaxAttempts</c> allows.</summary>
    public const string AttemptsCode = "max_attempts_exceeded";

    /// <summary>The item could not be asked at all (not JSON, a field the prompt needs is missing, too large, ...).</summary>
    public const string InvalidItemCode = "invalid_item";

    /// <summary>Another item already had a result under the same id.</summary>
    public const string DuplicateCode = "duplicate_id";

    /// <summary>Any other reason.</summary>
    public const string DeadLetteredCode = "dead_lettered";

    /// <returns>How many error lines were written.</returns>
    public static async Task<int> WriteAsync(IAsyncEnumerable<DeadLetter> deadLetters, TextWriter output, CancellationToken cancellationToken)
    {
        var count = 0;
        await foreach (var deadLetter in deadLetters.WithCancellation(cancellationToken))
        {
            await output.WriteLineAsync(Line(deadLetter));
            count++;
        }

        return count;
    }

    public static string Line(DeadLetter deadLetter)
    {
        // An entry whose item could not be read has no id: its SHA-1 stands in, so the line is still there, and unique.
        var customId = deadLetter.ItemId ?? $"unreadable-{Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData(Encoding.UTF8.GetBytes(deadLetter.Item)))}";
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer, JsonText.WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("id", OpenAiBatchIds.Line(OpenAiBatchIds.Of(deadLetter.Batch, customId)));
            w.WriteString("custom_id", customId);
            w.WriteNull("response");
            w.WriteStartObject("error");
            w.WriteString("code", Code(deadLetter.Reason));
            w.WriteString("message", Message(deadLetter));
            w.WriteEndObject();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static string Code(string reason) => reason switch
    {
        _ when reason.StartsWith("answer does not match", StringComparison.Ordinal) => InvalidAnswerCode,
        _ when reason.StartsWith("failed ", StringComparison.Ordinal) => AttemptsCode,
        _ when reason.StartsWith("malformed item", StringComparison.Ordinal) => InvalidItemCode,
        _ when reason.StartsWith("duplicate id", StringComparison.Ordinal) => DuplicateCode,
        _ => DeadLetteredCode,
    };

    private static string Message(DeadLetter d)
    {
        var message = new StringBuilder(d.Reason);
        if (d.Error is { Length: > 0 } error)
        {
            message.Append(": ").Append(error);
        }

        if (d.Answer is { } answer)
        {
            message.Append("; the model answered: ").Append(answer);
        }

        return message.ToString();
    }
}
