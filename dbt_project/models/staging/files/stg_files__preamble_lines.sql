{#- The lines of each delivered file that are not readings (a customer download's Name, Account
    and Service lines before its header, a block file's titles), as the loader split them: what
    an operator reads to learn whose file it is, kept beside the readings' lineage. -#}
with

source as (

    select * from {{ source('raw', 'file_preamble') }}

),

renamed as (

    select
        _source_file as source_file,
        _source_line as source_line,
        _file_sha256 as file_sha256,
        key as preamble_key,
        value as preamble_value,
        line_text
    from source

)

select * from renamed
