namespace OrleansLlm;

/// <summary>One entry of a failed batch's <c>errors.data</c>: why a line of its input file was refused.</summary>
/// <param name="Line">The line's number in the input file, from 1; null for the file as a whole.</param>
[GenerateSerializer, Immutable, Alias("OrleansLlm.OpenAiBatchError")]
public sealed record OpenAiBatchError(
    [property: Id(0)] string Code,
    [property: Id(1)] string Message,
    [property: Id(2)] int? Line = null,
    [property: Id(3)] string? Param = null);
