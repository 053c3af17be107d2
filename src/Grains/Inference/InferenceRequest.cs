using System.Text.Json;

namespace OrleansLlm.Inference;

/// <summary>
/// One question for Ollama: a prompt for <c>/api/generate</c>, or messages for <c>/api/chat</c>, with the batch's
/// model, options, system prompt and format.
/// </summary>
/// <param name="Model">The model, tagged.</param>
/// <param name="Prompt">The prompt (generate); null when <paramref name="Messages"/> are given.</param>
/// <param name="Messages">The conversation (chat); null for a prompt.</param>
/// <param name="System">System prompt: generate's <c>system</c>, or a first system message of a chat.</param>
/// <param name="Options">Sent as <c>options</c> beside the silo's <c>num_thread</c>; null for none.</param>
/// <param name="Format">Sent as <c>format</c>: the string <c>json</c> or a JSON Schema object; null for free text.</param>
public sealed record InferenceRequest(
    string Model,
    string? Prompt,
    IReadOnlyList<ChatTurn>? Messages,
    string? System = null,
    GenerationOptions? Options = null,
    JsonElement? Format = null)
{
    public bool IsChat => Messages is not null;

    /// <summary>The same question with a note from us after the model's previous answer, e.g. why it was refused.</summary>
    public InferenceRequest FollowedBy(string previousAnswer, string note) => IsChat
        ? this with { Messages = [.. Messages!, new ChatTurn("assistant", previousAnswer), new ChatTurn("user", note)] }
        : this with { Prompt = $"{Prompt}\n\n{note}" };
}
