namespace OllamaSim;

/// <summary>What a request's <c>format</c> asks for, as Ollama's runner reads it.</summary>
internal enum FormatKind
{
    /// <summary>Absent, null or "": free text.</summary>
    None,

    /// <summary>"json": any valid JSON.</summary>
    Json,

    /// <summary>A JSON schema object.</summary>
    Schema,

    /// <summary>Anything else; Ollama answers 500 <c>invalid format</c>.</summary>
    Invalid,
}
