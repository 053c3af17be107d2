namespace OrleansLlm;

/// <param name="PromptTemplate">Prompt with <c>{field}</c> placeholders filled from each item; null for the silo's default.</param>
/// <param name="AnswerField">Name of the field the answer is stored under; null for the silo's default.</param>
[GenerateSerializer, Immutable, Alias("OrleansLlm.BatchSpec")]
public sealed record BatchSpec(
    [property: Id(0)] string? PromptTemplate,
    [property: Id(1)] string? AnswerField);
