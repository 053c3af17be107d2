using System.CommandLine;
using System.Text.Json;
using OrleansLlm.Client.Input;

namespace OrleansLlm.Cli;

/// <summary>
/// The <c>submit</c> options that set how a batch is asked (model, Ollama options, system prompt, schema), and how
/// they combine with an OpenAI batch file's own.
/// </summary>
internal static class BatchOptionsCli
{
    public static readonly Option<string?> Model = new("--model") { Description = "Ollama model for the whole batch, e.g. qwen2:1.5b (default: the silo's Ollama:Model; replaces an OpenAI file's model)" };
    public static readonly Option<double?> Temperature = new("--temperature") { Description = "sampling temperature, 0 to 2" };
    public static readonly Option<double?> TopP = new("--top-p") { Description = "nucleus sampling, 0 to 1" };
    public static readonly Option<int?> Seed = new("--seed") { Description = "random seed, for repeatable answers" };
    public static readonly Option<int?> NumCtx = new("--num-ctx") { Description = "context window in tokens (Ollama's num_ctx)" };
    public static readonly Option<int?> MaxTokens = new("--max-tokens") { Description = "most tokens per answer (Ollama's num_predict)" };
    public static readonly Option<string[]> Stop = new("--stop") { Description = "a sequence that ends the answer; repeat for more" };
    public static readonly Option<string?> SystemPrompt = new("--system") { Description = "system prompt sent with every item" };
    public static readonly Option<FileInfo?> Schema = new("--schema") { Description = "JSON Schema file: answers must be JSON valid against it (sent to Ollama as format)" };

    public static IEnumerable<Option> All => [Model, Temperature, TopP, Seed, NumCtx, MaxTokens, Stop, SystemPrompt, Schema];

    /// <summary>The spec of a batch read from CSV or JSON Lines, asked through <paramref name="prompt"/>.</summary>
    public static BatchSpec Spec(ParseResult parse, string? prompt, string? field)
    {
        var o = Overrides(parse, field);
        return new BatchSpec(prompt, field, o.Model, o.Options, o.SystemPrompt, o.Format);
    }

    /// <summary>What the command line sets for an OpenAI batch file, whose values it replaces.</summary>
    /// <exception cref="CliException">An option that does not apply to an OpenAI batch file.</exception>
    public static OpenAiBatchOverrides OpenAiOverrides(ParseResult parse, string path, string? prompt, double? minPopulation, string? field)
    {
        if (prompt is not null)
        {
            throw new CliException($"--prompt does not apply to {Path.GetFileName(path)}: an OpenAI batch file brings its own prompts", exitCode: 2);
        }

        if (minPopulation is not null)
        {
            throw new CliException($"--min-population does not apply to {Path.GetFileName(path)}: an OpenAI batch file has no population column", exitCode: 2);
        }

        return Overrides(parse, field);
    }

    private static OpenAiBatchOverrides Overrides(ParseResult parse, string? field)
    {
        var options = new GenerationOptions(
            parse.GetValue(Temperature),
            parse.GetValue(Seed),
            parse.GetValue(NumCtx),
            parse.GetValue(MaxTokens),
            parse.GetValue(Stop) is { Length: > 0 } stop ? stop : null,
            parse.GetValue(TopP));
        if (options.Check() is [var first, ..])
        {
            throw new CliException($"{first}", exitCode: 2);
        }

        return new OpenAiBatchOverrides(
            parse.GetValue(Model),
            options.IsEmpty ? null : options,
            parse.GetValue(SystemPrompt),
            parse.GetValue(Schema) is { } schema ? ReadSchema(schema) : null,
            field);
    }

    private static string ReadSchema(FileInfo file)
    {
        string text;
        try
        {
            text = File.ReadAllText(file.FullName);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"--schema {file.Name}: {ex.Message}", exitCode: 2);
        }

        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                ? doc.RootElement.GetRawText()
                : throw new CliException($"--schema {file.Name}: a JSON Schema must be a JSON object, not {doc.RootElement.ValueKind.ToString().ToLowerInvariant()}", exitCode: 2);
        }
        catch (JsonException ex)
        {
            throw new CliException($"--schema {file.Name}: not valid JSON ({ex.Message})", exitCode: 2);
        }
    }
}
